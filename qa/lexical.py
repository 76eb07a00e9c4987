"""Keyword tokens for BM25 (lower-cased words, English stopwords out, Snowball-stemmed) and the BM25 parameters every store uses."""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from typing import Any, Sequence

import numpy as np

# BM25 (Lucene's variant, as bm25s computes it by default: the retrieval benchmark was tuned on it); the local
# keyword segments score with these, and Milvus collections are created with them (`bm25_k1`, `bm25_b`)
K1, B = 1.5, 0.75

# English function words, question words included: bm25s's own list (Lucene's 33 words) keeps
# "what", "did", "who", which then outscore the words a question is about.
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing done down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me more most my
    myself no nor not now of off on once only or other our ours ourselves out over own same she should so
    some such than that the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom whose why will with would you your
    yours yourself yourselves also may might must shall upon via""".split()
)
# words of two or more word characters, as scikit-learn's CountVectorizer (and bm25s) split them
_WORDS = re.compile(r"(?u)\b\w\w+\b")


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Lower-cased, stop-worded, stemmed word tokens, the same for documents and queries.

    The same tokens as bm25s.tokenize with these stopwords and PyStemmer's English stemmer.
    """
    words = [[w for w in _WORDS.findall(text.lower()) if w not in STOPWORDS] for text in texts]
    unique = list({w for ws in words for w in ws})
    stems = dict(zip(unique, _stemmer().stemWords(unique)))
    return [[stems[w] for w in ws] for ws in words]


def analysed(texts: Sequence[str]) -> list[str]:
    """Each text as its tokens joined by single spaces: what a store with its own analyzer is given, so that a
    whitespace (or `\\w+`) tokenizer there finds exactly the tokens the local index counts."""
    return [" ".join(tokens) for tokens in tokenize(texts)]


def term_id(token: str) -> int:
    """A stable 63-bit id for a token: segments need no shared vocabulary (collisions: ~1e-8 at 1M terms)."""
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little") >> 1


def term_ids(tokens: Sequence[str]) -> np.ndarray:
    """The term ids of a token list, in order (repeats kept: a repeated query word counts twice)."""
    return np.fromiter((term_id(t) for t in tokens), dtype=np.int64, count=len(tokens))


def doc_term_ids(texts: Sequence[str]) -> list[np.ndarray]:
    """Each text's term ids, one per token (what keyword segments index)."""
    tokens = tokenize(texts)
    ids = {t: term_id(t) for t in {t for ts in tokens for t in ts}}
    return [np.fromiter((ids[t] for t in ts), dtype=np.int64, count=len(ts)) for ts in tokens]
