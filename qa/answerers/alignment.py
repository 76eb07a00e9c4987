"""Token-level alignment of a question with candidate sentences: ColBERT-style MaxSim over the encoder's token vectors."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from qa.encoders import TokenVectors


def token_weights(question: TokenVectors, pool: Sequence[TokenVectors]) -> np.ndarray:
    """Each question token's weight, summing to 1: its rarity among the candidate sentences (a token every
    candidate has, "the" or the story's subject, says little about which one answers); uniform with no pool."""
    if not len(question.ids):
        return np.zeros(0, np.float32)
    n = len(pool)
    df: dict[int, int] = {}
    for tokens in pool:
        for token in set(tokens.ids.tolist()):
            df[token] = df.get(token, 0) + 1
    w = np.array([math.log(1 + n / (1 + df.get(int(t), 0))) for t in question.ids], dtype=np.float32) if n else np.ones(len(question.ids), np.float32)
    total = float(w.sum())
    return w / total if total > 0 else np.full(len(w), 1.0 / len(w), np.float32)


def maxsim(question: TokenVectors, weights: np.ndarray, sentence: np.ndarray) -> float:
    """The weighted mean over the question's tokens of each one's best cosine to a token of the sentence
    (`sentence`: its token vectors, rows of unit length; a pair of sentences stacks both)."""
    if not len(question.ids) or not len(sentence):
        return 0.0
    best = (question.vectors @ sentence.T).max(axis=1)
    return float(best @ weights)
