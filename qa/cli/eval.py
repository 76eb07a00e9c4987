"""The evaluation commands: `qa eval` (retrieval and answers on a question file) and `qa calibrate` (calibrate the
answer reader, or refit the prefilter, on one)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from qa import config
from qa.answerers import ExtractiveAnswerer
from qa.answerers.calibration import CALIBRATION_FILE
from qa.answerers.reader import INDEX_DIR as READER_DIR, ship_calibration
from qa.answerers.scoring import INDEX_DIR, model_file
from qa.answerers.training.calibrate import calibrate
from qa.cli.common import EXIT_FAILED, EXIT_OK, add_ranking_args, index_of, print_json, ranking_settings
from qa.errors import ConfigError
from qa.evaluation import default_answerer, evaluate, parse_modes, read_baseline, read_questions
from qa.evaluation.calibration import prior_model
from qa.evaluation.recipe import CURRENT, FEATURE_SETS, Recipe, fit_record, fit_rounds
from qa.evaluation.report import check_out_dir, write_outputs
from qa.retrieval import Retriever
from qa.stores import open_index


def configure_eval(p: argparse.ArgumentParser) -> None:
    p.add_argument("questions", type=Path, metavar="QUESTIONS", help="JSONL: question, article_id/url, answers, answerable")
    p.add_argument("--mode", action="append", default=None,
                   help=f"{', '.join(config.MODES)} or all (repeatable; default {config.MODE})")
    p.add_argument("--out", type=Path, default=Path(config.EVAL_OUT), help=f"output directory (default {config.EVAL_OUT}/)")
    p.add_argument("-k", type=int, default=config.EVAL_K, help=f"articles ranked per question (default {config.EVAL_K})")
    p.add_argument("--no-answers", action="store_true", help="retrieval metrics only; do not run the answerer")
    p.add_argument("--baseline", type=Path, metavar="DIR",
                   help="the --out directory of an earlier qa eval: report this run's change against it, per mode")
    add_ranking_args(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print metrics.json to stdout")


def cmd_eval(args: argparse.Namespace) -> int:
    modes = parse_modes(args.mode)
    check_out_dir(args.out)
    baseline = (str(args.baseline), read_baseline(args.baseline)) if args.baseline else None
    questions, skipped = read_questions(args.questions)  # each skipped line is logged as a warning
    if not questions:
        print(f"qa: error: {args.questions} holds no usable question", file=sys.stderr)
        return EXIT_FAILED
    retriever = Retriever.load(index_of(args), **ranking_settings(args))
    answer = None if args.no_answers else default_answerer(retriever)
    results = evaluate(questions, retriever, modes, k=args.k, answer=answer, progress=not args.quiet)
    meta = {"questions_file": str(args.questions), "index": str(index_of(args)), "questions": len(questions), "k": args.k}
    doc = write_outputs(args.out, results, skipped, meta, baseline)
    if args.json:
        print_json(doc)
    else:
        for mode, mt in doc["modes"].items():
            print(f"{mode:>6}: recall@1 {mt['recall@1']:.3f}  recall@10 {mt['recall@10']:.3f}  MRR@10 {mt['mrr@10']:.3f}"
                  f"  nDCG@10 {mt['ndcg@10']:.3f}  p50 {mt['latency_ms']['p50']:.1f} ms")
        changes = [(" - ".join(c["modes"]), c) for c in doc["comparisons"]]
        changes += [(f"{c['mode']} vs baseline", c) for c in doc.get("baseline", {}).get("comparisons", [])]
        for label, c in changes:
            low, high = c["ci95"]
            print(f"{label}: {c['metric']} {c['difference']:+.3f} (95% CI {low:+.3f} to {high:+.3f}, {c['questions']} questions)")
    print(f"wrote {args.out}/metrics.json, results.jsonl, report.md and plots", file=sys.stderr)
    return EXIT_OK


def configure_calibrate(p: argparse.ArgumentParser) -> None:
    p.add_argument("questions", type=Path, metavar="QUESTIONS", help="a dev question file in the `qa eval` format")
    p.add_argument("--precision", type=float, default=None,
                   help="abstain below the probability at which answers were right this often (default: the threshold "
                        "that gets the most questions right: answered right, or abstained when unanswerable)")
    p.add_argument("--ship", action="store_true",
                   help="write the calibration into the package (the packaged reader's, or with --prefilter the "
                        "prefilter's model), as the default for every index, instead of into this index")
    p.add_argument("--no-save", action="store_true", help="measure only: write nothing")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    old = p.add_argument_group("the prefilter (--prefilter): refit the linear model that picks the candidates the reader reads")
    old.add_argument("--prefilter", action="store_true",
                     help="fit the prefilter's linear model instead of the reader's calibration")
    old.add_argument("--features", choices=(CURRENT, *FEATURE_SETS), default=CURRENT,
                     help="current: the features of the prefilter the index uses now; invariant: all but the retrieval's "
                          "ranks and scores; all: every feature; no-alignment, no-entities: invariant without those")
    old.add_argument("--rounds", type=int, default=1,
                     help="fit this many times, each round answering the follow-ups' history with the model the round "
                          "before fitted (default 1)")
    old.add_argument("--start", choices=("current", "prior"), default="current",
                     help="the model answering round 0: the index's current one (its own, else the packaged one), or the "
                          "prior (the old hand weights)")
    old.add_argument("--one-article", action="store_true",
                     help="also ask each question on an index of its article alone")
    old.add_argument("--report", type=Path, default=None, metavar="FILE",
                     help="write the fit's record here as JSON: every round, every feature set and gradient boosting")


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Calibrate the reader's probabilities and threshold on a dev question file for this index (or, with
    --prefilter, fit the prefilter's linear model); stored in the index, or with --ship in the package."""
    if args.prefilter:
        return _calibrate_prefilter(args)
    index = index_of(args)
    questions, _ = read_questions(args.questions)
    answerer = ExtractiveAnswerer(Retriever.load(index))
    source = args.questions.name if args.ship else str(args.questions)  # a shipped calibration names no path of this machine
    calibration, report = calibrate(answerer, questions, source=source, precision=args.precision, progress=not args.quiet)
    outcome = report["outcome"]
    kinds = ", ".join(f"{k} {v['right']:.1%}" for k, v in outcome.items() if isinstance(v, dict) and k != "all")
    print(f"calibrated the reader {answerer.reader.name} on {report['questions']} questions: threshold "
          f"{calibration.threshold:.3f} (lead over the next candidate weighed {calibration.margin}), right {outcome['all']['right']:.1%} ({kinds}), AUC {report['auc']:.3f}", file=sys.stderr)
    if args.no_save:
        return EXIT_OK
    if args.ship:
        path = ship_calibration(answerer.reader, calibration)
    else:
        folder = open_index(index).side_folder()
        if folder is None:  # an index on a Milvus server has no local folder to keep it in
            raise ConfigError(f"{index} is on a server: qa calibrate keeps its calibration beside a local or milvus-lite index")
        path = calibration.save(folder / READER_DIR / CALIBRATION_FILE)
    print(f"wrote {path}", file=sys.stderr)
    return EXIT_OK


def _calibrate_prefilter(args: argparse.Namespace) -> int:
    """The linear model the candidates are picked by (issue 10's recipe), fitted on the question file."""
    index = index_of(args)
    recipe = Recipe(rounds=args.rounds, features=args.features, precision=args.precision, one_article=args.one_article)
    questions, _ = read_questions(args.questions)
    retriever = Retriever.load(index)
    start = {"model": prior_model(retriever.encoder.name)} if args.start == "prior" else {}
    answerer = ExtractiveAnswerer(retriever, **start)
    say = (lambda line: print(line, file=sys.stderr)) if recipe.rounds > 1 or args.report else (lambda line: None)
    source = args.questions.name if args.ship else str(args.questions)  # a shipped model names no path of this machine
    model, reports, examples = fit_rounds(answerer, questions, recipe, source=source, progress=not args.quiet, say=say)
    report = reports[-1]
    if args.report:
        record = fit_record(model, reports, examples, recipe, questions=str(args.questions), say=say)
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    oof = report["out_of_fold"]
    print(f"fitted on {report['questions']} questions ({report['candidates']} candidates); threshold {model.threshold:.3f} "
          f"for precision {model.target_precision:.2f}; cross-validated: right {oof['all']['right']:.1%}, "
          f"answer precision {oof['answer_precision']:.1%}", file=sys.stderr)
    if args.no_save:
        return EXIT_OK
    if args.ship:
        path = model.save(model_file(model.encoder))
    else:
        folder = open_index(index).side_folder()
        if folder is None:  # an index on a Milvus server has no local folder to keep the model in
            raise ConfigError(f"{index} is on a server: qa calibrate keeps its model beside a local or milvus-lite index")
        path = model.save(model_file(model.encoder, folder / INDEX_DIR))
    print(f"wrote {path}", file=sys.stderr)
    return EXIT_OK
