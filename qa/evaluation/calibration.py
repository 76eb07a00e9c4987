"""Fitting the answer-scoring model on a dev question set: candidate features, logistic regression, Platt
calibration, and the abstention threshold chosen for a stated precision."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from qa.answerers.candidates import FEATURES, RETRIEVAL_FEATURES
from qa.answerers.extractive import ExtractiveAnswerer, Scored
from qa.answerers.scoring import QUESTION_FEATURES, ScoringModel, question_features
from qa.conversation import Turn
from qa.errors import ConfigError
from qa.evaluation import Question, _bar
from qa.evaluation import metrics as m
from qa.types import Answer

log = logging.getLogger(__name__)

# What the fitted model reads by default: every feature but the retrieval's ranks and scores, which shift with the
# number of articles the index holds (one article: every candidate is in the top article, scores are other), so a
# probability fitted on a big index would not hold on a small one. Candidates come from the retrieved passages
# either way; the model judges the sentence against the question and the conversation.
INVARIANT_FEATURES: tuple[str, ...] = tuple(f for f in FEATURES if f not in RETRIEVAL_FEATURES)

# The hand-weighted score the answerer used before a model was fitted (0.55 cosine + 0.45 coverage + 0.1 type
# - 0.03 pair - 0.25 per unmet number - 0.01 per rank, sigmoid around 0.55): the starting point of a fit.
_PRIOR = {"cos_query": 0.55, "coverage": 0.45, "type_match": 0.1, "pair": -0.03, "unmet_numbers": -0.25, "hit_rank": -0.1}


def prior_model(encoder: str) -> ScoringModel:
    """The old hand-weighted score as a model: what answers the dev questions before the first fit."""
    scale = 1 / 0.06
    weights = tuple(_PRIOR.get(f, 0.0) * scale for f in FEATURES)
    n = len(FEATURES)
    return ScoringModel(encoder, FEATURES, (0.0,) * n, (1.0,) * n, weights, -0.55 * scale, threshold=0.5,
                        fitted_on={"prior": "hand weights of the first answerer"})


@dataclass
class Example:
    """One question of the dev set with its candidates and their labels (1: quotes an accepted phrase)."""

    question: Question
    scored: Scored | None  # None when retrieval found nothing
    labels: np.ndarray = field(default_factory=lambda: np.zeros(0))
    group: str = ""  # questions of one article or conversation stay in one cross-validation fold
    size: str = ""  # the index it was asked on, when several ("full", "one": an index of its article alone)


def collect(answerer: ExtractiveAnswerer, questions: Sequence[Question], *, progress: bool = False) -> list[Example]:
    """Every question's candidates, features and labels, follow-ups asked after their history (answered by the
    answerer as it is now)."""
    turns: dict[tuple[str, ...], Turn] = {}
    out = []
    bar = _bar(len(questions), progress)
    for q in questions:
        history: list[Turn] = []
        for i, earlier in enumerate(q.history):
            key = q.history[: i + 1]
            if key not in turns:
                turns[key] = Turn.of(earlier, answerer.ask(earlier, list(history)))
            history.append(turns[key])
        scored = answerer.score(q.question, history)
        relevant = {answerer.retriever.resolve(r) or r for r in q.relevant}
        if isinstance(scored, Answer):
            out.append(Example(q, None, np.zeros(0), _group(q)))
        else:
            labels = np.array([_label(q, relevant, c.article_id, t) for c, t in zip(scored.candidates, scored.texts)])
            out.append(Example(q, scored, labels, _group(q)))
            answerer.read(scored, history)
            turns.setdefault((*q.history, q.question), Turn.of(q.question, answerer._answer(scored, history, answerer.settings)))
        bar.update(1)
    bar.close()
    return out


def _label(q: Question, relevant: set[str], article_id: str, text: str) -> float:
    if not q.answerable or not q.answers or (relevant and article_id not in relevant):
        return 0.0
    return m.contains_answer(text, q.answers)


def _group(q: Question) -> str:
    return q.relevant[0] if q.relevant else q.conversation or q.question


def fit(
    examples: Sequence[Example], encoder: str, *, target_precision: float | None = None, folds: int = 5, l2: float = 1.0,
    source: str = "", features: Sequence[str] = INVARIANT_FEATURES, threshold_on: str = "",
) -> tuple[ScoringModel, dict[str, Any]]:
    """Fit the model on the examples: a listwise ranker (which candidate of a question is the answer), its scores
    made probabilities per candidate, then per question (Platt, out of fold, grouped by article). The threshold is
    the lowest probability at which the answers given out of fold were right `target_precision` of the time; with
    no target, the precision among TARGETS whose threshold handles the most questions right, averaged over the
    kinds of question (first, follow-up, casual, unanswerable), so abstaining on everything never wins."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    if target_precision is not None and not 0.5 <= target_precision < 1.0:
        raise ConfigError(f"target precision must be between 0.5 and 1, got {target_precision}")
    rows = [(i, j) for i, e in enumerate(examples) if e.scored is not None for j, ok in enumerate(e.scored.allowed) if ok]
    if len(rows) < 50 or len({e.group for e in examples}) < folds:
        raise ConfigError(f"too few questions to fit on: {len(examples)} questions, {len(rows)} candidates")
    unknown = [f for f in features if f not in FEATURES]
    if unknown:
        raise ConfigError(f"unknown features: {', '.join(unknown)}")
    columns = [FEATURES.index(f) for f in features]
    x = np.stack([examples[i].scored.features[j][columns] for i, j in rows])  # type: ignore[union-attr]
    y = np.array([examples[i].labels[j] for i, j in rows])
    question = np.array([i for i, _ in rows])
    groups = np.array([examples[i].group for i, _ in rows])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = (x - mean) / scale

    def train(idx: np.ndarray) -> tuple[np.ndarray, float, float]:
        w = listwise(z[idx], y[idx], question[idx], l2=l2)
        pointwise = LogisticRegression(C=100.0, max_iter=5000).fit((z[idx] @ w).reshape(-1, 1), y[idx])
        return w, float(pointwise.coef_[0, 0]), float(pointwise.intercept_[0])

    oof = np.zeros(len(y))
    for tr, te in GroupKFold(n_splits=folds).split(z, y, groups):
        w, a, b = train(tr)
        oof[te] = 1.0 / (1.0 + np.exp(-(a * (z[te] @ w) + b)))
    best, right = _best(examples, rows, oof)
    logit = np.log(np.clip(best, 1e-6, 1 - 1e-6) / (1 - np.clip(best, 1e-6, 1 - 1e-6)))
    platt = LogisticRegression(C=100.0, max_iter=5000).fit(logit.reshape(-1, 1), right)
    calibration = (float(platt.coef_[0, 0]), float(platt.intercept_[0]))
    platt_probability = platt.predict_proba(logit.reshape(-1, 1))[:, 1]
    # the question-level calibrator: several signals of the best candidate, fitted out of fold on the questions
    names = [f for f in QUESTION_FEATURES if f in features]
    qx = question_rows(examples, rows, oof, names)
    qgroups = np.array([e.group for e in examples])
    qmean, qscale = qx.mean(axis=0), qx.std(axis=0)
    qscale[qscale < 1e-9] = 1.0
    qz = (qx - qmean) / qscale
    probability = np.zeros(len(examples))
    for tr, te in GroupKFold(n_splits=folds).split(qz, right, qgroups):
        probability[te] = LogisticRegression(C=CALIBRATOR_C, max_iter=5000).fit(qz[tr], right[tr]).predict_proba(qz[te])[:, 1]
    whole = LogisticRegression(C=CALIBRATOR_C, max_iter=5000).fit(qz, right)
    calibrator = {"features": ["best_logit", "margin", *names], "mean": [float(v) for v in qmean],
                  "scale": [float(v) for v in qscale], "weights": [float(v) for v in whole.coef_[0]], "bias": float(whole.intercept_[0])}
    # the threshold and its target are chosen on the examples asked on one index (`threshold_on`, a `size`) when
    # the questions were asked on several: each question counts once, as asked where it was written for
    sel = np.array([i for i, e in enumerate(examples) if not threshold_on or e.size == threshold_on])
    if not len(sel):
        raise ConfigError(f"no examples asked on the index {threshold_on!r}")
    chosen = [examples[i] for i in sel]
    by_target = {t: outcome(chosen, probability[sel], right[sel], choose_threshold(probability[sel], right[sel], t)) for t in TARGETS}
    if target_precision is None:
        target_precision = max(TARGETS, key=lambda t: (_balanced(by_target[t]), -t))
    threshold = choose_threshold(probability[sel], right[sel], target_precision)
    w, a, b = train(np.arange(len(y)))
    report = {
        "questions": len(examples), "candidates": int(len(y)), "positives": int(y.sum()), "folds": folds,
        "target_precision": target_precision, "threshold": round(threshold, 4),
        "best_candidate_right": {k: v for k, v in _top1(examples, right).items()},
        "out_of_fold": outcome(examples, probability, right, threshold),
        "by_index": {size: outcome([examples[i] for i in idx], probability[idx], right[idx], threshold)
                     for size in sorted({e.size for e in examples} - {""})
                     for idx in [np.array([i for i, e in enumerate(examples) if e.size == size])]},
        "auc": {"calibrator": round(auc(probability, right), 4), "best_score_platt": round(auc(platt_probability, right), 4)},
        "by_target": {f"{t:.2f}": {**o, "balanced": round(_balanced(o), 4)} for t, o in by_target.items()},
    }
    fitted = ScoringModel(
        encoder, tuple(features), tuple(float(v) for v in mean), tuple(float(v) for v in scale),
        tuple(float(v) * a for v in w), b, calibration, round(threshold, 4), target_precision, {"source": source, **report},
        calibrator=calibrator,
    )
    return fitted, report


TARGETS = (0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)


def _balanced(outcome: dict[str, Any]) -> float:
    """The mean share right over the kinds of question present."""
    kinds = [outcome[k]["right"] for k in ("first", "followup", "casual", "unanswerable") if k in outcome]
    return float(np.mean(kinds)) if kinds else 0.0


def listwise(z: np.ndarray, y: np.ndarray, question: np.ndarray, *, l2: float = 1.0, steps: int = 300, rate: float = 0.5) -> np.ndarray:
    """Weights of a conditional logit: each question's candidates compete in a softmax and the ones holding an
    accepted phrase should win (questions without one do not count). Gradient ascent with an L2 penalty."""
    order = np.argsort(question, kind="stable")
    z, y, question = z[order], y[order], question[order]
    starts = np.flatnonzero(np.r_[True, question[1:] != question[:-1]])
    has = np.maximum.reduceat(y, starts) > 0
    keep = np.repeat(has, np.diff(np.r_[starts, len(y)]))
    z, y, question = z[keep], y[keep], question[keep]
    starts = np.flatnonzero(np.r_[True, question[1:] != question[:-1]])
    n = len(starts)
    w = np.zeros(z.shape[1])
    for _ in range(steps):
        s = z @ w
        s = s - np.repeat(np.maximum.reduceat(s, starts), np.diff(np.r_[starts, len(s)]))
        e = np.exp(s)
        p = e / np.repeat(np.add.reduceat(e, starts), np.diff(np.r_[starts, len(e)]))
        t = e * y
        t = t / np.repeat(np.add.reduceat(t, starts), np.diff(np.r_[starts, len(t)]))
        w += rate * ((z.T @ (t - p)) / n - l2 * w / n)
    return w


CALIBRATOR_C = 1.0  # L2 strength of the question-level calibrator (C = 1 / strength), fitted on a few hundred questions


def question_rows(examples: Sequence[Example], rows: list[tuple[int, int]], scores: np.ndarray,
                  names: Sequence[str] = QUESTION_FEATURES) -> np.ndarray:
    """Per question, the calibrator's input (`scoring.question_features`) for its best allowed candidate; a
    question with no candidate gets the lowest possible score."""
    ranked: dict[int, list[tuple[float, int]]] = {}
    for (i, j), s in zip(rows, scores):
        ranked.setdefault(i, []).append((float(s), j))
    width = len(names) + 2
    out = np.zeros((len(examples), width))
    for i in range(len(examples)):
        if i not in ranked:
            out[i, 0] = -14.0
            continue
        order = sorted(ranked[i], key=lambda sj: (-sj[0], sj[1]))
        score, j = order[0]
        out[i] = question_features(score, order[1][0] if len(order) > 1 else 0.0, examples[i].scored.features[j], names)  # type: ignore[union-attr]
    return out


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """The probability that a right answer scores above a wrong one (ties count half); 0.5 without both kinds."""
    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels) > 0
    pos, neg = scores[labels], scores[~labels]
    if not len(pos) or not len(neg):
        return 0.5
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


def _top1(examples: Sequence[Example], right: np.ndarray) -> dict[str, float]:
    out = {}
    for kind in ("first", "followup", "casual"):
        idx = [i for i, e in enumerate(examples) if e.question.kind == kind]
        if idx:
            out[kind] = round(float(np.mean(right[idx])), 4)
    return out


def _best(examples: Sequence[Example], rows: list[tuple[int, int]], scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per question: the best allowed candidate's score, and whether answering with it is right (0 or 1)."""
    best = np.zeros(len(examples))
    right = np.zeros(len(examples))
    top: dict[int, tuple[float, int]] = {}
    for (i, j), s in zip(rows, scores):
        if s > top.get(i, (-1.0, -1))[0]:
            top[i] = (float(s), j)
    for i, (s, j) in top.items():
        best[i], right[i] = s, examples[i].labels[j]
    return best, right


def choose_threshold(probability: np.ndarray, right: np.ndarray, target: float) -> float:
    """The lowest threshold at which the answers given (probability >= threshold) are right `target` of the time."""
    order = np.argsort(-probability)
    hits = np.cumsum(right[order])
    precision = hits / np.arange(1, len(order) + 1)
    ok = [k for k in range(len(order)) if precision[k] >= target]
    if not ok:
        return float(probability.max()) + 1e-6 if len(probability) else 0.5
    k = max(ok)
    return float(probability[order[k]])


def outcome(examples: Sequence[Example], probability: np.ndarray, right: np.ndarray, threshold: float) -> dict[str, Any]:
    """Share of questions handled right at a threshold (answerable: answered right; unanswerable: abstained), by kind."""
    out: dict[str, Any] = {}
    for kind in ("all", "first", "followup", "casual", "unanswerable"):
        idx = [i for i, e in enumerate(examples) if kind == "all" or e.question.kind == kind]
        if not idx:
            continue
        ok = [(probability[i] < threshold) if not examples[i].question.answerable else (probability[i] >= threshold and right[i] > 0)
              for i in idx]
        out[kind] = {"questions": len(idx), "right": round(float(np.mean(ok)), 4)}
    answered = probability >= threshold
    out["answer_precision"] = round(float(right[answered].mean()), 4) if answered.any() else 0.0
    return out
