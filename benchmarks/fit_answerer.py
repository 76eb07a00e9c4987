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
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

import numpy as np  # noqa: E402

from qa.answerers import ExtractiveAnswerer, sentence_cache  # noqa: E402
from qa.answerers.scoring import model_file  # noqa: E402
from qa.calibration import _best, choose_threshold, collect, fit, outcome, prior_model  # noqa: E402
from qa.evaluation import read_questions  # noqa: E402
from qa.retrieval import Retriever  # noqa: E402


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
    parser.add_argument("--no-save", action="store_true", help="measure only; do not overwrite the packaged model")
    args = parser.parse_args()
    questions, skipped = read_questions(args.questions)
    assert not skipped, skipped
    retriever = Retriever.load(args.index)
    sentence_cache.MAX_TOKENS_CACHED = 100_000  # every dev candidate's token vectors stay for the next round
    answerer = ExtractiveAnswerer(retriever, model=prior_model(retriever.encoder.name))
    rounds = []
    for r in range(args.rounds):
        t = time.perf_counter()
        examples = collect(answerer, questions)
        model, report = fit(examples, retriever.encoder.name, target_precision=args.precision, source=str(args.questions.name))
        report["seconds"] = round(time.perf_counter() - t, 1)
        rounds.append(report)
        oof = report["out_of_fold"]
        print(f"round {r}: threshold {model.threshold:.3f}; cross-validated right: " +
              ", ".join(f"{k} {v['right']:.1%}" for k, v in oof.items() if isinstance(v, dict)) +
              f"; answer precision {oof['answer_precision']:.1%}", file=sys.stderr)
        answerer.model = model
    answerer.vectors.save()
    boosting = boosting_check(examples, 5, model.target_precision)
    print("gradient boosting, same folds: " + ", ".join(f"{k} {v['right']:.1%}" for k, v in boosting["out_of_fold"].items() if isinstance(v, dict)),
          file=sys.stderr)
    weights = sorted(zip(model.features, model.weights), key=lambda fw: -abs(fw[1]))
    doc = {"questions": str(args.questions), "rounds": rounds, "logistic_regression": rounds[-1], "gradient_boosting": boosting,
           "weights": {f: round(w, 4) for f, w in weights}, "threshold": model.threshold, "calibration": model.calibration}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    if not args.no_save:
        print(f"wrote {model.save(model_file(model.encoder))}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
