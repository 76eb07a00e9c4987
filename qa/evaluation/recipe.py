"""`qa calibrate`'s recipe: the answer-scoring model fitted in rounds, optionally also on one-article indexes, with
every feature set and gradient boosting measured on the same folds for the record.

Round 0 answers the questions with the starting model (the index's current one, or the prior: the old hand
weights) and fits on their candidates; each further round re-asks the follow-ups' history with the model just
fitted (a follow-up depends on the answers before it) and fits again. With `one_article`, every question about
an article is also asked on an index of that article alone, so the calibration learns what a small collection
looks like (the threshold is then chosen on the full index). Cross-validation is grouped by article. This was
`benchmarks/fit_answerer.py`; the shipped model's command is in docs/answering.md.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from qa.answerers import ExtractiveAnswerer, sentence_cache
from qa.answerers.candidates import ALIGNMENT as ALIGNMENT_SLICE
from qa.answerers.candidates import FEATURES
from qa.answerers.scoring import ScoringModel
from qa.errors import ConfigError
from qa.evaluation import Question
from qa.evaluation.calibration import INVARIANT_FEATURES, Example, _best, choose_threshold, collect, fit, outcome
from qa.ingest import ingest
from qa.retrieval import Retriever

ALIGNMENT = tuple(FEATURES[ALIGNMENT_SLICE])
ENTITIES = ("entity_new", "entity_missing", "year_match", "year_conflict")
FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "invariant": INVARIANT_FEATURES, "all": FEATURES,
    "no-alignment": tuple(f for f in INVARIANT_FEATURES if f not in ALIGNMENT),
    "no-entities": tuple(f for f in INVARIANT_FEATURES if f not in ENTITIES),
}
CURRENT = "current"  # the features of the model the index answers with now
BOOSTING_FOLDS = 5


@dataclass(frozen=True)
class Recipe:
    """How `qa calibrate` fits: rounds, the feature set (CURRENT or a FEATURE_SETS name), the target precision
    (None: chosen on the questions), and whether the questions are also asked on one-article indexes."""

    rounds: int = 1
    features: str = CURRENT
    precision: float | None = None
    one_article: bool = False

    def __post_init__(self) -> None:
        if self.rounds < 1:
            raise ConfigError(f"rounds must be at least 1, got {self.rounds}")
        if self.features != CURRENT and self.features not in FEATURE_SETS:
            raise ConfigError(f"features must be one of {', '.join([CURRENT, *FEATURE_SETS])}, got {self.features!r}")


def fit_rounds(
    answerer: ExtractiveAnswerer, questions: Sequence[Question], recipe: Recipe, *, source: str, progress: bool = False,
    say: Callable[[str], None] = lambda line: None,
) -> tuple[ScoringModel, list[dict[str, Any]], list[Example]]:
    """Fit `recipe.rounds` times, each round answering with the model the round before fitted; returns the last
    model, every round's report (with its seconds) and the last round's examples. `say` gets a line per round."""
    features = answerer.model.features if recipe.features == CURRENT else FEATURE_SETS[recipe.features]
    encoder = answerer.retriever.encoder.name
    if recipe.rounds > 1:
        sentence_cache.MAX_TOKENS_CACHED = 100_000  # every candidate's token vectors stay for the next round
    with tempfile.TemporaryDirectory() as tmp:
        small = one_article_answerers(answerer, questions, Path(tmp)) if recipe.one_article else {}
        reports: list[dict[str, Any]] = []
        for number in range(recipe.rounds):
            started = time.perf_counter()
            examples = collect_sizes(answerer, small, questions, progress=progress) if small else \
                collect(answerer, questions, progress=progress)
            model, report = fit(examples, encoder, target_precision=recipe.precision, source=source, features=features,
                                threshold_on="full" if small else "")
            report["seconds"] = round(time.perf_counter() - started, 1)
            reports.append(report)
            oof = report["out_of_fold"]
            say(f"round {number}: threshold {model.threshold:.3f}; cross-validated right: "
                + ", ".join(f"{k} {v['right']:.1%}" for k, v in oof.items() if isinstance(v, dict))
                + f"; answer precision {oof['answer_precision']:.1%}")
            answerer.model = model
    if recipe.rounds > 1 or small:
        answerer.vectors.save()
    return model, reports, examples


def one_article_answerers(answerer: ExtractiveAnswerer, questions: Sequence[Question], folder: Path) -> dict[str, ExtractiveAnswerer]:
    """For each article the questions are about, an index of that article alone and an answerer on it (the same
    encoder and model): the questions asked there teach the calibration what a small collection looks like."""
    retriever = answerer.retriever
    ids = sorted({q.relevant[0] for q in questions if q.relevant})
    out = {}
    for n, article_id in enumerate(ids):
        article = retriever.article(retriever.resolve(article_id) or article_id)
        if article is None:
            continue
        path = folder / f"one-{n}"
        ingest([article], path, encoder=retriever.encoder)
        out[article_id] = ExtractiveAnswerer(Retriever.load(path, encoder=retriever.encoder), model=answerer.model,
                                             sentence_cache=False)
    return out


def collect_sizes(answerer: ExtractiveAnswerer, small: dict[str, ExtractiveAnswerer], questions: Sequence[Question], *,
                  progress: bool = False) -> list[Example]:
    """The questions' examples on the full index, then on one-article indexes (those about an article)."""
    examples = collect(answerer, questions, progress=progress)
    for e in examples:
        e.size = "full"
    for article_id, one in small.items():
        one.model = answerer.model
        one.vectors = answerer.vectors  # the sentence vectors do not depend on the index
        for e in collect(one, [q for q in questions if q.relevant and q.relevant[0] == article_id]):
            e.size = "one"
            examples.append(e)
    return examples


def compare_feature_sets(examples: Sequence[Example], encoder: str, recipe: Recipe,
                         say: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """Every feature set fitted on the same candidates and folds: what each would score, side by side."""
    compare = {}
    for name, features in FEATURE_SETS.items():
        _, rep = fit(examples, encoder, target_precision=recipe.precision, features=features,
                     threshold_on="full" if recipe.one_article else "")
        compare[name] = {"threshold": rep["threshold"], "target_precision": rep["target_precision"],
                         "best_candidate_right": rep["best_candidate_right"], "out_of_fold": rep["out_of_fold"], "auc": rep["auc"]}
        say(f"{name}: best candidate right " + ", ".join(f"{k} {v:.1%}" for k, v in rep["best_candidate_right"].items())
            + "; at the threshold: " + ", ".join(f"{k} {v['right']:.1%}" for k, v in rep["out_of_fold"].items() if isinstance(v, dict))
            + f"; AUC {rep['auc']['calibrator']:.3f}")
    return compare


def boosting_check(examples: Sequence[Example], folds: int, target: float) -> dict[str, Any]:
    """Gradient boosting on the same features and folds: cross-validated right answers, to compare."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    rows = [(i, j) for i, e in enumerate(examples) if e.scored is not None for j, ok in enumerate(e.scored.allowed) if ok]
    x = np.stack([examples[i].scored.features[j] for i, j in rows])  # type: ignore[union-attr]
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


def fit_record(model: ScoringModel, reports: list[dict[str, Any]], examples: Sequence[Example], recipe: Recipe, *,
               questions: str, say: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """The fit's record (`qa calibrate --report FILE`): every round, every feature set on the last round's
    candidates, gradient boosting on the same folds, the model's weights, threshold and calibration."""
    compare = compare_feature_sets(examples, model.encoder, recipe, say)
    boosting = boosting_check(examples, BOOSTING_FOLDS, model.target_precision)
    say("gradient boosting, same folds: "
        + ", ".join(f"{k} {v['right']:.1%}" for k, v in boosting["out_of_fold"].items() if isinstance(v, dict)))
    weights = sorted(zip(model.features, model.weights), key=lambda fw: -abs(fw[1]))
    return {"questions": questions, "features": recipe.features, "feature_sets": compare, "rounds": reports,
            "logistic_regression": reports[-1], "gradient_boosting": boosting, "weights": {f: round(w, 4) for f, w in weights},
            "threshold": model.threshold, "calibration": model.calibration}
