"""Fit the answer-scoring model on the dev split and ship it: `python benchmarks/fit_answerer.py`.

Round 0 answers the dev questions with the prior (the old hand weights) and fits on their candidates; each further
round re-asks the follow-ups' history with the model just fitted (a follow-up depends on the answers before it)
and fits again. Cross-validation is grouped by article. Beside the logistic regression, gradient boosting is
measured on the same folds, for the record. Writes qa/answerers/models/<model>.json and
benchmarks/results/answer-model.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

import numpy as np  # noqa: E402

from qa.answerers import ExtractiveAnswerer, sentence_cache  # noqa: E402
from qa.answerers.scoring import model_file  # noqa: E402
from qa.answerers.candidates import ALIGNMENT as ALIGNMENT_SLICE, FEATURES  # noqa: E402
from qa.evaluation.calibration import (  # noqa: E402
    INVARIANT_FEATURES,
    _best,
    choose_threshold,
    collect,
    fit,
    outcome,
    prior_model,
)
from qa.evaluation import read_questions  # noqa: E402
from qa.retrieval import Retriever  # noqa: E402


ALIGNMENT = tuple(FEATURES[ALIGNMENT_SLICE])
ENTITIES = ("entity_new", "entity_missing", "year_match", "year_conflict")
FEATURE_SETS = {"invariant": INVARIANT_FEATURES, "all": FEATURES,
                "no-alignment": tuple(f for f in INVARIANT_FEATURES if f not in ALIGNMENT),
                "no-entities": tuple(f for f in INVARIANT_FEATURES if f not in ENTITIES)}


def one_article_answerers(retriever, questions, model, folder: Path):
    """For each article the questions are about, an index of that article alone and an answerer on it (the same
    encoder and model): the questions asked there teach the calibration what a small collection looks like."""
    from qa.ingest import ingest

    ids = sorted({q.relevant[0] for q in questions if q.relevant})
    out = {}
    for n, article_id in enumerate(ids):
        article = retriever.article(retriever.resolve(article_id) or article_id)
        if article is None:
            continue
        path = folder / f"one-{n}"
        ingest([article], path, encoder=retriever.encoder)
        out[article_id] = ExtractiveAnswerer(Retriever.load(path, encoder=retriever.encoder), model=model, sentence_cache=False)
    return out


def collect_sizes(answerer, small, questions) -> list:
    """The questions' examples on the full index, then on one-article indexes (those about an article)."""
    examples = collect(answerer, questions)
    for e in examples:
        e.size = "full"
    for article_id, one in small.items():
        one.model = answerer.model
        one.vectors = answerer.vectors  # the sentence vectors do not depend on the index
        for e in collect(one, [q for q in questions if q.relevant and q.relevant[0] == article_id]):
            e.size = "one"
            examples.append(e)
    return examples


def boosting_check(examples, folds: int, target: float) -> dict:
    """Gradient boosting on the same features and folds: cross-validated right answers, to compare."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    rows = [(i, j) for i, e in enumerate(examples) if e.scored is not None for j, ok in enumerate(e.scored.allowed) if ok]
    x = np.stack([examples[i].scored.features[j] for i, j in rows])
    y = np.array([examples[i].labels[j] for i, j in rows])
    groups = np.array([examples[i].group for i, _ in rows])
    oof = np.zeros(len(y))
    for train, test in GroupKFold(n_splits=folds).split(x, y, groups):
        gbm = HistGradientBoostingClassifier(max_iter=150, learning_rate=0.08, max_leaf_nodes=15, class_weight="balanced", random_state=0)
        oof[test] = gbm.fit(x[train], y[train]).predict_proba(x[test])[:, 1]
    best, right = _best(examples, rows, oof)
    logit = np.log(np.clip(best, 1e-6, 1 - 1e-6) / (1 - np.clip(best, 1e-6, 1 - 1e-6))).reshape(-1, 1)
    probability = LogisticRegression(C=100.0).fit(logit, right).predict_proba(logit)[:, 1]
    threshold = choose_threshold(probability, right, target)
    return {"threshold": round(threshold, 4), "best_candidate_right": round(float(right.mean()), 4),
            "out_of_fold": outcome(examples, probability, right, threshold)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=ROOT / ".cache" / "qa-index")
    parser.add_argument("--questions", type=Path, default=ROOT / "questions" / "answers-dev.jsonl")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--precision", type=float, default=None, help="target answer precision (default: chosen on dev)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "answer-model.json")
    parser.add_argument("--features", choices=("invariant", "all", "no-alignment", "no-entities"), default="invariant",
                        help="invariant: all but the retrieval's ranks and scores (the default; the probability holds "
                             "on indexes of any size); all: every feature; no-alignment/no-entities: invariant without those")
    parser.add_argument("--start", choices=("prior", "packaged"), default="prior",
                        help="the model answering round 0's histories: the old hand weights, or the packaged model")
    parser.add_argument("--no-one-article", dest="one_article", action="store_false",
                        help="fit on the full index only (default: also on an index of each question's article alone)")
    parser.add_argument("--no-save", action="store_true", help="measure only; do not overwrite the packaged model")
    args = parser.parse_args()
    questions, skipped = read_questions(args.questions)
    assert not skipped, skipped
    retriever = Retriever.load(args.index)
    sentence_cache.MAX_TOKENS_CACHED = 100_000  # every dev candidate's token vectors stay for the next round
    answerer = ExtractiveAnswerer(retriever, model=prior_model(retriever.encoder.name)) if args.start == "prior" else ExtractiveAnswerer(retriever)
    rounds = []
    tmp = tempfile.TemporaryDirectory()
    small = one_article_answerers(retriever, questions, answerer.model, Path(tmp.name)) if args.one_article else {}
    for r in range(args.rounds):
        t = time.perf_counter()
        examples = collect_sizes(answerer, small, questions)
        model, report = fit(examples, retriever.encoder.name, target_precision=args.precision, source=str(args.questions.name),
                            features=FEATURE_SETS[args.features], threshold_on="full" if args.one_article else "")
        report["seconds"] = round(time.perf_counter() - t, 1)
        rounds.append(report)
        oof = report["out_of_fold"]
        print(f"round {r}: threshold {model.threshold:.3f}; cross-validated right: " +
              ", ".join(f"{k} {v['right']:.1%}" for k, v in oof.items() if isinstance(v, dict)) +
              f"; answer precision {oof['answer_precision']:.1%}", file=sys.stderr)
        answerer.model = model
    answerer.vectors.save()
    compare = {}
    for name, features in FEATURE_SETS.items():  # every feature set fitted on the last round's candidates, same folds
        _, rep = fit(examples, retriever.encoder.name, target_precision=args.precision, features=features,
                     threshold_on="full" if args.one_article else "")
        compare[name] = {"threshold": rep["threshold"], "target_precision": rep["target_precision"],
                         "best_candidate_right": rep["best_candidate_right"], "out_of_fold": rep["out_of_fold"], "auc": rep["auc"]}
        print(f"{name}: best candidate right " + ", ".join(f"{k} {v:.1%}" for k, v in rep["best_candidate_right"].items()) +
              "; at the threshold: " + ", ".join(f"{k} {v['right']:.1%}" for k, v in rep["out_of_fold"].items() if isinstance(v, dict)) +
              f"; AUC {rep['auc']['calibrator']:.3f}", file=sys.stderr)
    boosting = boosting_check(examples, 5, model.target_precision)
    print("gradient boosting, same folds: " + ", ".join(f"{k} {v['right']:.1%}" for k, v in boosting["out_of_fold"].items() if isinstance(v, dict)),
          file=sys.stderr)
    weights = sorted(zip(model.features, model.weights), key=lambda fw: -abs(fw[1]))
    doc = {"questions": str(args.questions), "features": args.features, "feature_sets": compare, "rounds": rounds, "logistic_regression": rounds[-1], "gradient_boosting": boosting,
           "weights": {f: round(w, 4) for f, w in weights}, "threshold": model.threshold, "calibration": model.calibration}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    if not args.no_save:
        print(f"wrote {model.save(model_file(model.encoder))}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
