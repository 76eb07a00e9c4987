"""Retrieval and answer metrics as pure functions: recall@k, MRR@k, nDCG@k, EM/F1, percentiles, paired CIs."""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from typing import Iterable, Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b")


def recall_at(ranked: Sequence[str], relevant: Iterable[str], k: int) -> float:
    """Fraction of the relevant ids found in the first k of `ranked` (0 when none are relevant)."""
    relevant = set(relevant)
    if not relevant:
        return 0.0
    return len(relevant & set(ranked[:k])) / len(relevant)


def mrr_at(ranked: Sequence[str], relevant: Iterable[str], k: int) -> float:
    """1 / rank of the first relevant id within the first k, else 0."""
    relevant = set(relevant)
    for rank, key in enumerate(ranked[:k], 1):
        if key in relevant:
            return 1.0 / rank
    return 0.0


def ndcg_at(ranked: Sequence[str], relevant: Iterable[str], k: int) -> float:
    """Binary-relevance nDCG@k: DCG of the ranking over DCG of the ideal ranking."""
    relevant = set(relevant)
    if not relevant:
        return 0.0
    dcg = sum(1.0 / math.log2(rank + 1) for rank, key in enumerate(ranked[:k], 1) if key in relevant)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(k, len(relevant)) + 1))
    return dcg / ideal


def dedupe(ids: Iterable[str]) -> list[str]:
    """Ids in order of first appearance: passage hits -> article ranking."""
    return list(dict.fromkeys(ids))


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lower case, no punctuation, no articles, single spaces."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    """1.0 when the normalised prediction equals a normalised acceptable answer."""
    pred = normalize_answer(prediction)
    return float(any(pred == normalize_answer(g) for g in golds))


def f1(prediction: str, golds: Sequence[str]) -> float:
    """Best token-overlap F1 of the prediction against the acceptable answers."""
    pred = normalize_answer(prediction).split()
    best = 0.0
    for gold in golds:
        ref = normalize_answer(gold).split()
        common = sum((Counter(pred) & Counter(ref)).values())
        if not pred or not ref:
            score = float(pred == ref)
        elif not common:
            score = 0.0
        else:
            precision, recall = common / len(pred), common / len(ref)
            score = 2 * precision * recall / (precision + recall)
        best = max(best, score)
    return best


def contains_answer(text: str, golds: Sequence[str]) -> float:
    """1.0 when the normalised text contains a normalised acceptable answer."""
    norm = normalize_answer(text)
    return float(any(normalize_answer(g) and normalize_answer(g) in norm for g in golds))


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation, as numpy's default; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def abstention(abstained: Sequence[bool], answerable: Sequence[bool]) -> tuple[float, float]:
    """(precision, recall) of abstaining as a detector of unanswerable questions."""
    hits = sum(1 for a, ok in zip(abstained, answerable) if a and not ok)
    n_abstained = sum(abstained)
    n_unanswerable = sum(1 for ok in answerable if not ok)
    precision = hits / n_abstained if n_abstained else 0.0
    recall = hits / n_unanswerable if n_unanswerable else 0.0
    return precision, recall


def paired_difference(a: Sequence[float], b: Sequence[float], *, rounds: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Mean of a - b over paired per-query scores, with a 95% paired-bootstrap interval: (diff, low, high).

    Queries are resampled with replacement `rounds` times; an interval that excludes 0 means the
    difference is unlikely to be noise from the choice of queries.
    """
    if len(a) != len(b):
        raise ValueError(f"paired scores need equal lengths, got {len(a)} and {len(b)}")
    if not a:
        return 0.0, 0.0, 0.0
    import numpy as np

    diffs = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = np.empty(rounds)
    block = max(1, 2_000_000 // len(diffs))  # resamples drawn a block at a time: bounded memory for large question sets
    for start in range(0, rounds, block):
        n = min(block, rounds - start)
        means[start : start + n] = diffs[rng.integers(0, len(diffs), size=(n, len(diffs)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(diffs.mean()), float(low), float(high)
