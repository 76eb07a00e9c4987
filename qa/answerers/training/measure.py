"""Measuring a ranker on candidate lists: right at rank 1 and within the top 3 by kind, the AUC of the best score,
and the share right at the best threshold (what choosing between readers compares)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from qa.answerers.training.lists import QuestionList

KINDS = ("first", "followup", "casual")


def reader_scores(reader: Any, lists: Sequence[QuestionList], within: int) -> list[np.ndarray]:
    """The reader's logits for each question's candidates among the prefilter's best `within` (others: -inf)."""
    out = []
    for q in lists:
        scores = np.full(len(q.rows), -np.inf)
        rows = [i for i, r in enumerate(q.rows) if r.rank < within]
        if rows:
            scores[rows] = reader.read([q.pair(q.rows[i]) for i in rows]).logits
        out.append(scores)
    return out


def prefilter_scores(lists: Sequence[QuestionList]) -> list[np.ndarray]:
    """The prefilter's own scores, as logits."""
    return [logit(np.array([r.prefilter for r in q.rows])) for q in lists]


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve of the scores for telling right (1) from not (0)."""
    pos, neg = scores[labels > 0], scores[labels <= 0]
    if not len(pos) or not len(neg):
        return float("nan")
    ranks = np.argsort(np.argsort(np.r_[pos, neg], kind="stable"), kind="stable") + 1
    return round(float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))), 4)


def rank_metrics(lists: Sequence[QuestionList], scores: Sequence[np.ndarray]) -> dict[str, Any]:
    """How the scores rank each question's candidates (ties: the prefilter's order): right at rank 1 and within the
    top 3 by kind (answerable questions), the AUC of the best score (right answers against the rest, unanswerable
    questions included), and the best share of questions right over thresholds on the best score."""
    best, right, top3, kinds, answerable = [], [], [], [], []
    for q, s in zip(lists, scores):
        order = sorted(range(len(q.rows)), key=lambda i: (-s[i], q.rows[i].rank))
        order = [i for i in order if np.isfinite(s[i])]
        best.append(float(s[order[0]]) if order else -1e9)
        right.append(float(bool(order) and q.rows[order[0]].label == 1))
        top3.append(float(any(q.rows[i].label == 1 for i in order[:3])))
        kinds.append(q.kind)
        answerable.append(q.answerable)
    best_a, right_a, can = np.array(best), np.array(right), np.array(answerable)
    thresholds = np.unique(np.r_[best_a, np.inf])
    at_best = max(float(np.mean(np.where(best_a >= t, right_a > 0, ~can))) for t in thresholds)
    out: dict[str, Any] = {"questions": len(lists), "right_best_threshold": round(at_best, 4), "auc": auc(best_a, right_a)}
    for name, values in (("rank1", right), ("top3", top3)):
        out[name] = {k: round(float(np.mean([v for v, kk, a in zip(values, kinds, answerable) if kk == k and a])), 4)
                     for k in KINDS if any(kk == k and a for kk, a in zip(kinds, answerable))}
        out[name]["all"] = round(float(np.mean([v for v, a in zip(values, answerable) if a])), 4)
    return out


def line(metrics: dict[str, Any]) -> str:
    """The metrics in one line."""
    r1 = ", ".join(f"{k} {v:.1%}" for k, v in metrics["rank1"].items())
    return f"rank 1: {r1}; top 3 {metrics['top3']['all']:.1%}; right at best threshold {metrics['right_best_threshold']:.1%}, AUC {metrics['auc']:.3f}"
