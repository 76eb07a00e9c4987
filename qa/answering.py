"""The extractive answerer: picks the sentence (or two) of the retrieved passages that answers a question."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from qa.chunking import split_sentences
from qa.conversation import ABSTAINED, Turn, rewrite
from qa.encoding import Encoder
from qa.errors import ConfigError
from qa.retrieval import MODES, Retriever
from qa.scoring import (
    answer_type_match,
    calibrated_confidence,
    content_terms,
    coverage,
    is_prose,
    missing_numbers,
    wanted_terms,
)
from qa.types import Answer, Citation, Hit, SearchFilter

log = logging.getLogger(__name__)

ABSTAIN_TEXT = ABSTAINED
EMPTY_INDEX_TEXT = "No articles are indexed yet: add some articles first, then ask again."
FILTERED_TEXT = "I couldn't find this in the articles that match the filters (sources, dates or article ids)."
MAX_QUESTION_CHARS = 1000
MAX_CACHED = 200_000  # sentence vectors kept in memory
ENCODE_BATCH = 16  # small batches pad less: sentence lengths vary a lot
CACHE_DIR = "sentence-cache"  # beside the index generations; keyed by sentence hash, so never stale

@dataclass(frozen=True)
class AnswerSettings:
    """How answers are chosen; every field can be overridden per `ask` call."""

    k: int = 5  # passages retrieved
    mode: str = "hybrid"  # retrieval mode
    threshold: float = 0.55  # abstain when the best sentence scores below this (calibrated: README, "How an answer is chosen")
    lexical_weight: float = 0.45  # score = (1 - w) * cosine + w * question-word coverage
    type_weight: float = 0.1  # bonus when the sentence holds what the question asks for (a number, a date...)
    pair_penalty: float = 0.03  # two adjacent sentences must beat one by this much
    repeat_penalty: float = 0.1  # a follow-up's candidate that repeats an earlier answer loses this much
    number_penalty: float = 0.25  # per number in the question ("2018") that the candidate's article never mentions
    context_sentences: int = 1  # sentences of context on each side of the answer in its excerpt
    max_citations: int = 3
    min_support: float = 0.25  # beside an answer, another passage is cited only if its best sentence scores this
    max_candidates: int = 16  # sentences encoded per question, the lexically closest first
    rewrite_followups: bool = True

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ConfigError(f"k must be at least 1, got {self.k}")
        if self.mode not in MODES:
            raise ConfigError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if not 0.0 <= self.threshold <= 1.0:
            raise ConfigError(f"threshold must be between 0 and 1, got {self.threshold}")
        if not 0.0 <= self.lexical_weight <= 1.0:
            raise ConfigError(f"lexical_weight must be between 0 and 1, got {self.lexical_weight}")
        if self.context_sentences < 0 or self.max_citations < 1:
            raise ConfigError("context_sentences must be >= 0 and max_citations >= 1")


@dataclass(frozen=True)
class _Candidate:
    """One answer candidate: a run of sentences inside one retrieved passage."""

    hit_rank: int
    article_id: str
    first: int  # index of its first sentence in the article's sentence list
    last: int
    start: int  # character span in the article text
    end: int


class Answerer:
    """`Answerer(Retriever.load(dir)).ask("What did Putin reject?")` returns an `Answer` with citations."""

    def __init__(
        self, retriever: Retriever, settings: AnswerSettings | None = None, *, sentence_cache: bool = True, **overrides: object
    ) -> None:
        self.retriever = retriever
        if not isinstance(retriever.encoder, _MemoEncoder):
            retriever.encoder = _MemoEncoder(retriever.encoder)  # the query is encoded once, not twice
        self.settings = replace(settings or AnswerSettings(), **overrides)  # type: ignore[arg-type]
        self._sentences: OrderedDict[tuple[int, str], tuple[str, list[tuple[int, int]]]] = OrderedDict()
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()  # sha1 of a sentence -> its vector
        self._lock = threading.Lock()  # the vector cache is shared with a warming thread
        self._use_file = sentence_cache
        self._loaded_cache = not sentence_cache  # False: vectors live in memory only, no cache file
        if sentence_cache:
            self._load_cache(self._cache_file())

    # -- public ------------------------------------------------------------------------------
    def ask(
        self,
        question: str,
        history: Sequence[Turn] | None = None,
        *,
        filter: SearchFilter | None = None,
        **overrides: object,
    ) -> Answer:
        """Answer one question (a follow-up when `history` holds earlier turns), or abstain."""
        settings = replace(self.settings, **overrides)  # type: ignore[arg-type]
        question = check_question(question)
        query = rewrite(question, history or ()) if settings.rewrite_followups else question
        hits = self.retriever.search(query, settings.k, filter=filter, mode=settings.mode)
        if not hits:
            if self._index_empty():
                return Answer(EMPTY_INDEX_TEXT, True, 0.0, [], query)
            return Answer(FILTERED_TEXT if filter and not filter.empty else ABSTAIN_TEXT, True, 0.0, [], query)
        # a follow-up ("Why?") wants something new; a question asked afresh may get the same answer again
        previous = {t.answer.strip() for t in history or () if t.answer} if query != question else set()
        return self._answer(question, query, hits, previous, settings)

    # -- scoring -----------------------------------------------------------------------------
    def _answer(self, question: str, query: str, hits: list[Hit], previous: set[str], settings: AnswerSettings) -> Answer:
        scored = self._score(question, query, hits, settings)
        best_per_hit: dict[int, tuple[float, _Candidate]] = {}
        for score, cand in scored:
            if cand.first == cand.last and score > best_per_hit.get(cand.hit_rank, (-9.0, cand))[0]:
                best_per_hit[cand.hit_rank] = (score, cand)
        # a follow-up wants news: "Why?" never gets the earlier answer again, other follow-ups rarely do
        exclude = not content_terms(question)
        fresh = []
        for score, c in scored:
            if any(p in self._text(c) or self._text(c) in p for p in previous):
                if exclude:
                    continue
                score -= settings.repeat_penalty
            fresh.append((score, c))
        if not fresh:
            return Answer(ABSTAIN_TEXT, True, 0.0, self._citations(hits, None, best_per_hit, settings), query)
        score, cand = max(fresh, key=lambda sc: sc[0])
        confidence = calibrated_confidence(score, settings.threshold)
        log.debug("best %.3f (threshold %.3f): %s", score, settings.threshold, self._text(cand))
        if score < settings.threshold:
            citations = self._citations(hits, None, best_per_hit, settings)
            return Answer(ABSTAIN_TEXT, True, confidence, citations, query, round(score, 4))
        citations = self._citations(hits, cand, best_per_hit, settings)
        return Answer(self._text(cand), False, confidence, citations, query, round(score, 4))

    def _score(self, question: str, query: str, hits: list[Hit], settings: AnswerSettings) -> list[tuple[float, _Candidate]]:
        """Every candidate with its score: cosine to the question blended with question-word coverage."""
        wanted = wanted_terms(question, query)
        candidates = self._shortlist(self._candidates(hits), wanted, settings.max_candidates)
        if not candidates:
            return []
        texts = sorted({self._text(c) for c in candidates if c.first == c.last})
        # the rewritten query, plus the question's own words when it has any ("Why?" has none)
        queries = [query] if query == question or not content_terms(question) else [query, question]
        qvectors, vectors = self._encode(queries, texts)
        qvec = _unit(qvectors.sum(axis=0))
        by_text = dict(zip(texts, vectors))
        unmet = {
            rank: missing_numbers(question, self._article_sentences(hit.article_id)[0], hit.published)
            for rank, hit in enumerate(hits)
        }
        scored = []
        for cand in candidates:
            if cand.first != cand.last and not self._each_part_adds(cand, question, wanted):
                continue
            text = self._text(cand)
            vec = by_text[text] if cand.first == cand.last else _unit(sum(by_text[s] for s in self._parts(cand)))
            score = (1 - settings.lexical_weight) * float(np.dot(qvec, vec))
            topic = content_terms(hits[cand.hit_rank].title)
            score += settings.lexical_weight * coverage(wanted, content_terms(text), topic)
            score += settings.type_weight * answer_type_match(question, text)
            score -= settings.pair_penalty * (cand.last - cand.first)
            score -= settings.number_penalty * unmet[cand.hit_rank]
            score -= 0.01 * cand.hit_rank  # ties go to the better-ranked passage
            scored.append((score, cand))
        return scored

    def _each_part_adds(self, cand: _Candidate, question: str, wanted: dict[str, float]) -> bool:
        """Whether every sentence of a pair brings a question word, or the kind of answer asked for, that the
        other lacks; a quote riding beside the answer ("..." Zelensky said. Trump posted...) brings neither."""
        parts = self._parts(cand)
        terms = [content_terms(p) & wanted.keys() for p in parts]
        typed = [answer_type_match(question, p) > 0 for p in parts]
        for i in range(len(parts)):
            others = set().union(*(t for j, t in enumerate(terms) if j != i))
            if not (terms[i] - others) and not (typed[i] and not any(t for j, t in enumerate(typed) if j != i)):
                return False
        return True

    def _candidates(self, hits: list[Hit]) -> list[_Candidate]:
        """Single sentences and adjacent pairs lying inside each retrieved passage; clutter left out."""
        out: list[_Candidate] = []
        for rank, hit in enumerate(hits):
            text, spans = self._article_sentences(hit.article_id)
            inside = [i for i, (s, e) in enumerate(spans) if s >= hit.start and e <= hit.end and is_prose(text[s:e])]
            for i in inside:
                out.append(_Candidate(rank, hit.article_id, i, i, *spans[i]))
                if i + 1 in inside:
                    out.append(_Candidate(rank, hit.article_id, i, i + 1, spans[i][0], spans[i + 1][1]))
        return out

    def _shortlist(self, candidates: list[_Candidate], wanted: dict[str, float], limit: int) -> list[_Candidate]:
        """The candidates whose sentences are among the `limit` best by word overlap and passage rank."""
        singles = [c for c in candidates if c.first == c.last]
        if len(singles) <= limit:
            return candidates
        cheap = sorted(singles, key=lambda c: (-coverage(wanted, content_terms(self._text(c))), c.hit_rank, c.first))
        keep = {(c.article_id, c.first) for c in cheap[:limit]}
        return [c for c in candidates if all((c.article_id, i) in keep for i in range(c.first, c.last + 1))]

    def warm(self, batch_size: int = 128, *, save: bool = True) -> int:
        """Encode every prose sentence of the index ahead of questions (kept in a cache file beside the
        index, so a restart is warm at once); returns how many sentences were newly encoded."""
        cache = self._cache_file()
        if not self._loaded_cache:
            self._load_cache(cache)
        todo: list[str] = []
        for article in self.retriever.articles():
            text = article.text
            todo += [text[s:e] for s, e in split_sentences(text) if is_prose(text[s:e])]
        todo = [t for t in dict.fromkeys(todo) if _key(t) not in self._vectors]
        for i in range(0, len(todo), batch_size):
            self._encode([], todo[i : i + batch_size])
        if save and todo and self._use_file:
            self._save_cache(cache)
        log.info("sentence cache: %d new, %d in all", len(todo), len(self._vectors))
        return len(todo)

    def _cache_file(self) -> Path:
        slug = re.sub(r"[^A-Za-z0-9]+", "-", self.retriever.encoder.name).strip("-")
        return Path(self.retriever.location) / CACHE_DIR / f"{slug}.npz"

    def _load_cache(self, path: Path) -> None:
        self._loaded_cache = True
        if not path.exists():
            return
        try:
            with np.load(path, allow_pickle=False) as data:
                keys, vectors = data["keys"], data["vectors"]
        except (OSError, ValueError, KeyError) as exc:
            log.warning("ignoring unreadable sentence cache %s: %s", path, exc)
            return
        if vectors.ndim != 2 or vectors.shape[1] != self.retriever.encoder.dimension:
            log.warning("ignoring sentence cache %s: vectors of another shape", path)
            return
        for key, vec in zip(keys.tolist(), vectors.astype(np.float32)):
            self._vectors.setdefault(key, vec)

    def _save_cache(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            keys = np.array(list(self._vectors), dtype="U40")
            vectors = np.stack(list(self._vectors.values())).astype(np.float16)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=keys, vectors=vectors)
        os.replace(tmp, path)

    def _citations(
        self,
        hits: list[Hit],
        answer: _Candidate | None,
        best_per_hit: dict[int, tuple[float, _Candidate]],
        settings: AnswerSettings,
    ) -> list[Citation]:
        """The answer's excerpt first (its span marked), then other passages that bear on it, each around its best sentence.

        An abstention cites the nearest passages whatever their scores: they show what was found.
        """
        citations: list[Citation] = []
        if answer is not None:
            citations.append(self._citation(hits[answer.hit_rank], answer, settings, mark=True))
        for rank, hit in enumerate(hits):
            if len(citations) >= settings.max_citations:
                break
            if answer is not None and rank == answer.hit_rank:
                continue
            if rank in best_per_hit and (answer is None or best_per_hit[rank][0] >= settings.min_support):
                citations.append(self._citation(hit, best_per_hit[rank][1], settings, mark=False))
        return citations

    def _citation(self, hit: Hit, cand: _Candidate, settings: AnswerSettings, *, mark: bool) -> Citation:
        """An excerpt of the passage: the sentence(s) with some context; `score` is the passage's."""
        text, spans = self._article_sentences(cand.article_id)
        first, last = cand.first, cand.last
        for _ in range(settings.context_sentences):
            if first > 0 and is_prose(text[slice(*spans[first - 1])]) and spans[first - 1][0] >= hit.start:
                first -= 1
            if last + 1 < len(spans) and is_prose(text[slice(*spans[last + 1])]) and spans[last + 1][1] <= hit.end:
                last += 1
        start, end = spans[first][0], spans[last][1]
        excerpt = text[start:end]
        a, b = (cand.start - start, cand.end - start) if mark else (0, 0)
        return Citation(hit.article_id, hit.title, hit.url, hit.published, hit.source, excerpt, start, a, b, round(hit.score, 4))

    # -- caches ------------------------------------------------------------------------------
    def _article_sentences(self, article_id: str) -> tuple[str, list[tuple[int, int]]]:
        key = (self.retriever.version, article_id)
        cached = self._sentences.get(key)
        if cached is None:
            article = self.retriever.article(article_id)
            text = article.text if article else ""
            cached = (text, split_sentences(text))
            self._sentences[key] = cached
            if len(self._sentences) > 2000:
                self._sentences.popitem(last=False)
        return cached

    def _text(self, cand: _Candidate) -> str:
        text, _ = self._article_sentences(cand.article_id)
        return text[cand.start : cand.end]

    def _parts(self, cand: _Candidate) -> list[str]:
        text, spans = self._article_sentences(cand.article_id)
        return [text[slice(*spans[i])] for i in range(cand.first, cand.last + 1)]

    def _encode(self, queries: list[str], sentences: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Queries and sentences in one batch; sentence vectors are cached, query vectors are not."""
        keys = [_key(t) for t in sentences]
        with self._lock:
            missing = list({k: t for k, t in zip(keys, sentences) if k not in self._vectors}.items())
        vectors = self.retriever.encoder.encode(queries + [t for _, t in missing], batch_size=ENCODE_BATCH)
        with self._lock:
            for (key, _), vec in zip(missing, vectors[len(queries) :]):
                self._vectors[key] = vec
            while len(self._vectors) > MAX_CACHED:
                self._vectors.popitem(last=False)
            dim = self.retriever.encoder.dimension
            found = np.stack([self._vectors[k] for k in keys]) if keys else np.zeros((0, dim), np.float32)
        return vectors[: len(queries)], found

    def _index_empty(self) -> bool:
        return self.retriever.is_empty()


class _MemoEncoder:
    """Wraps the retriever's encoder to remember recent single-text encodings (the query)."""

    def __init__(self, inner: Encoder, size: int = 256) -> None:
        self.inner = inner
        self.name, self.dimension, self.max_tokens = inner.name, inner.dimension, inner.max_tokens
        self.backend = getattr(inner, "backend", "torch")
        self._memo: OrderedDict[str, np.ndarray] = OrderedDict()
        self._size = size

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None, progress: bool = False) -> np.ndarray:
        texts = list(texts)
        known = [t in self._memo for t in texts]
        todo = [t for t, k in zip(texts, known) if not k]
        fresh = iter(self.inner.encode(todo, batch_size=batch_size, progress=progress)) if todo else iter(())
        rows = [self._memo[t] if k else next(fresh) for t, k in zip(texts, known)]
        if len(texts) <= 2:
            for t, row in zip(texts, rows):
                self._memo[t] = row
            while len(self._memo) > self._size:
                self._memo.popitem(last=False)
        return np.stack(rows).astype(np.float32) if rows else np.zeros((0, self.dimension), np.float32)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.inner.count_tokens(texts)


def check_question(question: object) -> str:
    """The question, stripped; a clear ConfigError when it is empty or far too long."""
    if not isinstance(question, str) or not question.strip():
        raise ConfigError("the question is empty; type a question about the articles")
    question = question.strip()
    if len(question) > MAX_QUESTION_CHARS:
        raise ConfigError(
            f"the question is {len(question):,} characters long; ask in at most {MAX_QUESTION_CHARS:,} characters"
        )
    return question


def _key(sentence: str) -> str:
    return hashlib.sha1(sentence.encode("utf-8")).hexdigest()


def _unit(vec: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vec))
    return vec / norm if norm else vec
