"""Refitting the prefilter (the linear model that picks the candidates the reader reads) on training lists, and the
weight its logit gets beside the reader's when the two are stacked."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from qa.answerers.candidates import ALIGNMENT, FEATURES
from qa.answerers.scoring import ScoringModel
from qa.answerers.training.lists import QuestionList
from qa.answerers.training.measure import rank_metrics
from qa.evaluation.calibration import INVARIANT_FEATURES, listwise

# What the prefilter reads: every feature but the retrieval's ranks and scores (they shift with the size of the index)
# and the token alignment (MaxSim: a pass over every candidate's token vectors, too slow for every question).
PREFILTER_FEATURES = tuple(f for f in INVARIANT_FEATURES if f not in FEATURES[ALIGNMENT])
STACK_WEIGHTS = tuple(round(w, 2) for w in np.arange(0.0, 2.01, 0.1))  # tried for the prefilter's logit beside the reader's


def fit_prefilter(lists: Sequence[QuestionList], encoder: str, *, features: Sequence[str] = PREFILTER_FEATURES,
                  l2: float = 1.0, source: str = "") -> ScoringModel:
    """The listwise linear model (issue 10's recipe) over `features` of the lists' candidates: by default
    PREFILTER_FEATURES, so it ranks alike on an index of any size."""
    columns = [FEATURES.index(f) for f in features]
    x, y, question = [], [], []
    for n, q in enumerate(lists):
        for r in q.rows:
            if r.label >= 0 and r.features:
                x.append(np.asarray(r.features)[columns])
                y.append(float(r.label))
                question.append(n)
    xa = np.asarray(x)
    mean, scale = xa.mean(axis=0), xa.std(axis=0)
    scale[scale < 1e-9] = 1.0
    w = listwise((xa - mean) / scale, np.asarray(y), np.asarray(question), l2=l2)
    fitted_on = {"source": source, "questions": len(lists), "candidates": len(x), "recipe": "listwise, invariant features without alignment"}
    return ScoringModel(encoder, tuple(features), tuple(float(v) for v in mean), tuple(float(v) for v in scale),
                        tuple(float(v) for v in w), 0.0, fitted_on=fitted_on)


def scores(model: ScoringModel, lists: Sequence[QuestionList]) -> list[np.ndarray]:
    """The model's logit for each candidate of the lists (from their stored feature rows)."""
    out = []
    for q in lists:
        if not q.rows:
            out.append(np.zeros(0))
            continue
        p = model.scores(np.asarray([r.features for r in q.rows]))
        out.append(np.log(np.clip(p, 1e-6, 1 - 1e-6) / np.clip(1 - p, 1e-6, 1)))
    return out


def stacked(reader: Sequence[np.ndarray], prefilter: Sequence[np.ndarray], weight: float) -> list[np.ndarray]:
    """The reader's logit plus `weight` times the prefilter's (where the reader read the candidate)."""
    return [r + weight * np.where(np.isfinite(r), p, 0.0) for r, p in zip(reader, prefilter)]


def stack_weight(lists: Sequence[QuestionList], reader: Sequence[np.ndarray], prefilter: Sequence[np.ndarray]) -> float:
    """The weight with the most questions right at the best threshold (chosen on dev)."""
    return max(STACK_WEIGHTS, key=lambda w: rank_metrics(lists, stacked(reader, prefilter, w))["right_best_threshold"])
