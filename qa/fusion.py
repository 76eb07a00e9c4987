"""Rank fusion as small pure functions over ranked (id, score) lists."""

from __future__ import annotations

from typing import Hashable, Sequence, TypeVar

from qa import config

K = TypeVar("K", bound=Hashable)
Ranking = Sequence[tuple[K, float]]


def rrf(rankings: Sequence[Ranking[K]], *, k: int = config.RRF_K, weights: Sequence[float] | None = None) -> list[tuple[K, float]]:
    """Reciprocal rank fusion: score(d) = sum_i w_i / (k + rank_i(d)), ranks from 1."""
    weights = weights or [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError(f"{len(rankings)} rankings but {len(weights)} weights")
    scores: dict[K, float] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, (key, _) in enumerate(ranking, 1):
            scores[key] = scores.get(key, 0.0) + weight / (k + rank)
    return _sorted(scores)


def weighted(rankings: Sequence[Ranking[K]], weights: Sequence[float]) -> list[tuple[K, float]]:
    """Convex combination of min-max normalised scores; a list missing an id contributes 0."""
    if len(weights) != len(rankings):
        raise ValueError(f"{len(rankings)} rankings but {len(weights)} weights")
    scores: dict[K, float] = {}
    for ranking, weight in zip(rankings, weights):
        if not ranking:
            continue
        values = [s for _, s in ranking]
        low, high = min(values), max(values)
        span = high - low
        for key, score in ranking:
            norm = (score - low) / span if span > 0 else 1.0
            scores[key] = scores.get(key, 0.0) + weight * norm
    return _sorted(scores)


def _sorted(scores: dict[K, float]) -> list[tuple[K, float]]:
    return sorted(scores.items(), key=lambda kv: (-kv[1], str(kv[0])))
