"""The evaluation commands: `qa eval` (retrieval and answers on a question file) and `qa calibrate` (fit the
answer-scoring model on one)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from qa import config
from qa.answerers import ExtractiveAnswerer
from qa.answerers.scoring import INDEX_DIR, model_file
from qa.cli.common import EXIT_FAILED, EXIT_OK, add_ranking_args, index_of, print_json, ranking_settings
from qa.errors import ConfigError
from qa.evaluation import default_answerer, evaluate, parse_modes, read_baseline, read_questions
from qa.evaluation.calibration import INVARIANT_FEATURES, collect, fit
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
                   help="abstain below the probability at which answers were right this often (default: the precision "
                        "that handles the most questions right, averaged over the kinds of question)")
    p.add_argument("--features", choices=("current", "invariant"), default="current",
                   help="current: the features of the model the index answers with now (the packaged recipe); "
                        "invariant: all but the retrieval's ranks and scores (round 2's size-independent set, "
                        "benchmarks/fit_answerer.py; it scored lower on the held-out split, docs/answers.md)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Fit the answer-scoring model on the index's own questions; it is stored in the index, for its model."""
    index = index_of(args)
    questions, _ = read_questions(args.questions)
    answerer = ExtractiveAnswerer(Retriever.load(index))
    examples = collect(answerer, questions, progress=not args.quiet)
    features = answerer.model.features if args.features == "current" else INVARIANT_FEATURES
    model, report = fit(examples, answerer.retriever.encoder.name, target_precision=args.precision, source=str(args.questions),
                        features=features)
    folder = open_index(index).side_folder()
    if folder is None:  # an index on a Milvus server has no local folder to keep the model in
        raise ConfigError(f"{index} is on a server: qa calibrate keeps its model beside a local or milvus-lite index")
    path = model.save(model_file(model.encoder, folder / INDEX_DIR))
    oof = report["out_of_fold"]
    print(f"fitted on {report['questions']} questions ({report['candidates']} candidates); threshold {model.threshold:.3f} "
          f"for precision {model.target_precision:.2f}; cross-validated: right {oof['all']['right']:.1%}, "
          f"answer precision {oof['answer_precision']:.1%}", file=sys.stderr)
    print(f"wrote {path}", file=sys.stderr)
    return EXIT_OK
