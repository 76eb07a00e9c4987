"""Caches the extractive answerer reads through: article sentences, sentence vectors (memory + file), query vectors."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from qa.reading.chunking import split_sentences
from qa.encoders import Encoder, TokenVectors
from qa.types import Article

log = logging.getLogger(__name__)

MAX_CACHED = 200_000  # sentence vectors kept in memory
MAX_ARTICLES = 2000  # articles whose sentence spans are kept
MAX_TOKENS_CACHED = 3000  # sentences whose token vectors (float16, ~25 KB each) are kept in memory
ENCODE_BATCH = 16  # small batches pad less: sentence lengths vary a lot (a torch encoder's question-time batches)
CACHE_DIR = "sentence-cache"  # beside the index generations; keyed by sentence hash, so never stale

Spans = list[tuple[int, int]]


class ArticleSentences:
    """The text and sentence spans of articles, keyed by the index version so a re-ingest is never stale."""

    def __init__(self, fetch: Callable[[str], Article | None], version: Callable[[], int]) -> None:
        self._fetch, self._version = fetch, version
        self._cache: OrderedDict[tuple[int, str], tuple[str, Spans]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, article_id: str) -> tuple[str, Spans]:
        """(text, sentence spans) of an article; ("", []) when it is not in the index."""
        key = (self._version(), article_id)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        article = self._fetch(article_id)
        text = article.text if article else ""
        cached = (text, split_sentences(text))
        with self._lock:
            self._cache[key] = cached
            while len(self._cache) > MAX_ARTICLES:
                self._cache.popitem(last=False)
        return cached


class SentenceVectors:
    """Sentence vectors by a hash of their text, in memory and (optionally) in `<index>/sentence-cache/<model>.npz`."""

    def __init__(self, encoder: Encoder, location: str | os.PathLike[str], *, use_file: bool = True) -> None:
        from qa.stores import side_folder

        self.encoder = encoder
        folder = side_folder(location)  # None for an index on a server: the cache stays in memory
        self.path = (folder or Path()) / CACHE_DIR / f"{_slug(encoder.name)}.npz"
        use_file = use_file and folder is not None
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._tokens: OrderedDict[str, TokenVectors] = OrderedDict()
        self._lock = threading.Lock()
        self._use_file = use_file
        if use_file:
            self.load()

    def __len__(self) -> int:
        return len(self._vectors)

    def encode(self, queries: Sequence[str], sentences: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """The queries and the uncached sentences encoded (`encode_few`); returns (query vectors, sentence vectors)."""
        keys = [_key(t) for t in sentences]
        with self._lock:
            missing = list({k: t for k, t in zip(keys, sentences) if k not in self._vectors}.items())
        qvectors, vectors = encode_few(self.encoder, list(queries), [t for _, t in missing])
        with self._lock:
            for (key, _), vec in zip(missing, vectors):
                self._vectors[key] = vec
            found = [self._vectors.get(k) for k in keys]
            while len(self._vectors) > MAX_CACHED:
                self._vectors.popitem(last=False)
        if any(v is None for v in found):  # evicted by another thread in between: encode those again
            again = [t for t, v in zip(sentences, found) if v is None]
            fresh = iter(encode_few(self.encoder, [], again)[1])
            found = [v if v is not None else next(fresh) for v in found]
        dim = self.encoder.dimension
        return qvectors, np.stack(found).astype(np.float32) if found else np.zeros((0, dim), np.float32)

    def encode_tokens(
        self, queries: Sequence[str], sentences: Sequence[str]
    ) -> tuple[np.ndarray, np.ndarray, list[TokenVectors], list[TokenVectors]] | None:
        """As `encode`, plus each query's and sentence's token vectors (for MaxSim), from one forward pass; None
        when the encoder gives no token vectors. Token vectors are kept in memory only (the file keeps the
        sentence vectors), so a sentence met again soon costs nothing and one read from the file is encoded again."""
        encode = getattr(self.encoder, "encode_tokens", None)
        if encode is None:
            return None
        keys = [_key(t) for t in sentences]
        with self._lock:
            missing = list({k: t for k, t in zip(keys, sentences) if k not in self._tokens}.items())
        vectors, tokens = encode(list(queries) + [t for _, t in missing], batch_size=ENCODE_BATCH)
        fresh = {key: (vec, tok) for (key, _), vec, tok in zip(missing, vectors[len(queries) :], tokens[len(queries) :])}
        with self._lock:
            for key, (vec, tok) in fresh.items():
                self._vectors[key] = vec
                self._tokens[key] = TokenVectors(tok.ids, tok.vectors.astype(np.float16))
            found = [fresh[k] if k in fresh else (self._vectors.get(k), self._tokens.get(k)) for k in keys]
            for k in keys:
                if k in self._tokens:
                    self._tokens.move_to_end(k)
            while len(self._tokens) > MAX_TOKENS_CACHED:
                self._tokens.popitem(last=False)
            while len(self._vectors) > MAX_CACHED:
                self._vectors.popitem(last=False)
        if any(v is None or t is None for v, t in found):  # evicted by another thread in between: encode those again
            again = [t for t, (v, tok) in zip(sentences, found) if v is None or tok is None]
            more = iter(zip(*encode(again, batch_size=ENCODE_BATCH)))
            found = [(v, tok) if v is not None and tok is not None else next(more) for v, tok in found]
        dim = self.encoder.dimension
        sentence_vectors = np.stack([v for v, _ in found]).astype(np.float32) if found else np.zeros((0, dim), np.float32)
        return vectors[: len(queries)], sentence_vectors, list(tokens[: len(queries)]), [t for _, t in found]

    def warm(self, sentences: Iterable[str], batch_size: int = 128, *, save: bool = True) -> int:
        """Encode the sentences not cached yet (and save the file); returns how many were new."""
        with self._lock:
            todo = [t for t in dict.fromkeys(sentences) if _key(t) not in self._vectors]
        for i in range(0, len(todo), batch_size):
            self.encode([], todo[i : i + batch_size])
        if save and todo and self._use_file:
            self.save()
        log.info("sentence cache: %d new, %d in all", len(todo), len(self._vectors))
        return len(todo)

    def load(self) -> None:
        if not self.path.exists():
            return
        try:
            with np.load(self.path, allow_pickle=False) as data:
                keys, vectors = data["keys"], data["vectors"]
        except (OSError, ValueError, KeyError) as exc:
            log.warning("ignoring unreadable sentence cache %s: %s", self.path, exc)
            return
        if vectors.ndim != 2 or vectors.shape[1] != self.encoder.dimension:
            log.warning("ignoring sentence cache %s: vectors of another shape", self.path)
            return
        with self._lock:
            for key, vec in zip(keys.tolist(), vectors.astype(np.float32)):
                self._vectors.setdefault(key, vec)

    def save(self) -> None:
        """Write the cache file atomically (a temporary file, then a rename)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            if not self._vectors:
                return
            keys = np.array(list(self._vectors), dtype="U40")
            vectors = np.stack(list(self._vectors.values())).astype(np.float16)
        tmp = self.path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp.npz")
        np.savez(tmp, keys=keys, vectors=vectors)
        os.replace(tmp, self.path)


class QueryMemo:
    """Wraps the retriever's encoder to remember recent single-text encodings (the query is encoded once, not twice)."""

    def __init__(self, inner: Encoder, size: int = 256) -> None:
        self.inner = inner
        self.name, self.dimension, self.max_tokens = inner.name, inner.dimension, inner.max_tokens
        self.backend = getattr(inner, "backend", "torch")
        if hasattr(inner, "encode_tokens"):  # token vectors are not memoised: they are asked for with sentences
            self.encode_tokens = inner.encode_tokens
        self._memo: OrderedDict[str, np.ndarray] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None, progress: bool = False) -> np.ndarray:
        texts = list(texts)
        with self._lock:
            known = {t: self._memo[t] for t in texts if t in self._memo}
        todo = list(dict.fromkeys(t for t in texts if t not in known))
        fresh = dict(zip(todo, self.inner.encode(todo, batch_size=batch_size, progress=progress))) if todo else {}
        rows = [known[t] if t in known else fresh[t] for t in texts]
        if len(texts) <= 2:
            with self._lock:
                for t, row in zip(texts, rows):
                    self._memo[t] = row
                while len(self._memo) > self._size:
                    self._memo.popitem(last=False)
        return np.stack(rows).astype(np.float32) if rows else np.zeros((0, self.dimension), np.float32)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.inner.count_tokens(texts)


def encode_few(encoder: Encoder, queries: list[str], sentences: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """A question's queries and new sentences encoded. On an ONNX encoder each sentence on its own: no padding, so
    cold answers take 0.7-0.9x the time of one padded batch on a CPU (docs/answers.md), and a sentence's vector no
    longer depends on what it was batched with (int8 activations are scaled per batch). On a torch encoder, where a
    call costs more, in small batches."""
    none = np.zeros((0, encoder.dimension), np.float32)
    if not getattr(encoder, "backend", "").startswith("onnx"):
        vectors = encoder.encode(queries + sentences, batch_size=ENCODE_BATCH) if queries or sentences else none
        return vectors[: len(queries)], vectors[len(queries) :]
    inner = getattr(encoder, "inner", encoder)  # sentences go past the query memo (the queries are in it)
    qvectors = encoder.encode(queries) if queries else none
    return qvectors, np.vstack([inner.encode([t]) for t in sentences]).astype(np.float32) if sentences else none


def unit(vec: np.ndarray) -> np.ndarray:
    """The vector scaled to length 1 (a zero vector stays zero)."""
    norm = float(np.linalg.norm(vec))
    return vec / norm if norm else vec


def _key(sentence: str) -> str:
    return hashlib.sha1(sentence.encode("utf-8")).hexdigest()


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")
