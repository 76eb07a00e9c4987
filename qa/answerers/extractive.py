"""The extractive answerer: quotes the sentence (or two) of the retrieved passages that answers a question."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Iterator, Sequence

import numpy as np

from qa import config
from qa.answerers.alignment import maxsim, token_weights
from qa.answerers.candidates import Candidate, each_part_adds, feature_matrix, generate, shortlist
from qa.answerers.entities import EntityTagger, shared_tagger
from qa.answerers.features import content_terms, is_prose, wanted_terms
from qa.answerers.followups import Context, context
from qa.answerers.scoring import ScoringModel, load_scoring_model
from qa.answerers.sentence_cache import ArticleSentences, QueryMemo, SentenceVectors, unit
from qa.answerers.short import short_answer, short_kind
from qa.reading.chunking import split_sentences
from qa.conversation import ABSTAINED, Turn
from qa.errors import ConfigError
from qa.retrieval import MODES, Retriever
from qa.types import Answer, AnswerEvent, Citation, Hit, SearchFilter, TextDelta

log = logging.getLogger(__name__)

ABSTAIN_TEXT = ABSTAINED
EMPTY_INDEX_TEXT = "No articles are indexed yet: add some articles first, then ask again."
FILTERED_TEXT = "I couldn't find this in the articles that match the filters (sources, dates or article ids)."
MAX_QUESTION_CHARS = 1000


@dataclass(frozen=True)
class AnswerSettings:
    """How answers are chosen; every field can be overridden per `ask` call."""

    k: int = config.K  # passages retrieved
    mode: str = config.MODE  # retrieval mode
    threshold: float | None = None  # abstain below this probability of being right (None: the model's calibrated one)
    context_sentences: int = 1  # sentences of context on each side of the answer in its excerpt
    max_citations: int = 3
    min_support: float = 0.3  # beside an answer, another passage is cited only if its best sentence is this close (cosine)
    max_candidates: int = 12  # new sentences encoded per question at most (the cold-cache cost), the closest first
    max_followup_candidates: int = 12  # the same for a follow-up (the previous turn encoded much of its article)
    neighbourhood: int = 3  # for a follow-up, sentences on each side of the previous answer that are always candidates
    articles: int = 2  # every sentence of this many best articles is a candidate, not only those in the passages
    rewrite_followups: bool = True
    short_answers: bool = True  # mark the person, number, date or place asked for inside the answer sentence

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ConfigError(f"k must be at least 1, got {self.k}")
        if self.mode not in MODES:
            raise ConfigError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.threshold is not None and not 0.0 <= self.threshold <= 1.0:
            raise ConfigError(f"threshold must be between 0 and 1, got {self.threshold}")
        if self.context_sentences < 0 or self.max_citations < 1:
            raise ConfigError("context_sentences must be >= 0 and max_citations >= 1")
        if min(self.max_candidates, self.max_followup_candidates) < 1 or self.neighbourhood < 0:
            raise ConfigError(f"max_candidates must be >= 1 and neighbourhood >= 0, got {self.max_candidates}, {self.neighbourhood}")


@dataclass
class Scored:
    """Everything the answerer computed for one question: its context, passages, candidates and their scores."""

    ctx: Context
    hits: list[Hit]
    candidates: list[Candidate]
    texts: list[str]
    features: np.ndarray  # one row of candidates.FEATURES per candidate
    scores: np.ndarray  # the scoring model's score per candidate
    allowed: list[bool]  # False for a follow-up's repeat of an earlier answer that holds nothing new


class ExtractiveAnswerer:
    """`ExtractiveAnswerer(Retriever.load(dir)).ask("What did Putin reject?")` returns an `Answer` with citations."""

    style = "quoted"

    def __init__(
        self,
        retriever: Retriever,
        settings: AnswerSettings | None = None,
        *,
        sentence_cache: bool = True,
        model: ScoringModel | None = None,
        entities: EntityTagger | None = None,
        **overrides: object,
    ) -> None:
        self.retriever = retriever
        if not isinstance(retriever.encoder, QueryMemo):
            retriever.encoder = QueryMemo(retriever.encoder)  # the query is encoded once, not twice
        self.settings = replace(settings or AnswerSettings(), **overrides)  # type: ignore[arg-type]
        self.model = model or load_scoring_model(retriever.encoder.name, retriever.location)
        self.entities = entities or shared_tagger()
        self.sentences = ArticleSentences(lambda article_id: self.retriever.article(article_id), lambda: self.retriever.version)
        self.vectors = SentenceVectors(retriever.encoder, retriever.location, use_file=sentence_cache)

    # -- the protocol ------------------------------------------------------------------------
    def ask(
        self, question: str, history: Sequence[Turn] | None = None, *, filter: SearchFilter | None = None, **overrides: object
    ) -> Answer:
        """Answer one question (a follow-up when `history` holds earlier turns, oldest first), or abstain."""
        settings = replace(self.settings, **overrides)  # type: ignore[arg-type]
        question = check_question(question)
        scored = self.score(question, history, filter=filter, settings=settings)
        if isinstance(scored, Answer):
            return scored
        return self._answer(scored, settings)

    def stream(
        self, question: str, history: Sequence[Turn] | None = None, *, filter: SearchFilter | None = None, **overrides: object
    ) -> Iterator[AnswerEvent]:
        """The answer as events: its text (a quote is whole at once), then the final `Answer`."""
        answer = self.ask(question, history, filter=filter, **overrides)
        yield TextDelta(answer.text)
        yield answer

    def warm(self, batch_size: int = 128, *, save: bool = True) -> int:
        """Encode every prose sentence of the index ahead of questions (kept in a cache file beside the
        index, so a restart is warm at once) and load the entity model; returns how many sentences were new."""
        self.entities.entities("Warm-up in Paris on Monday.")
        todo: list[str] = []
        for article in self.retriever.articles():
            text = article.text
            todo += [s for s in (text[a:b] for a, b in split_sentences(text)) if is_prose(s)]
        return self.vectors.warm(todo, batch_size, save=save)

    # -- scoring -----------------------------------------------------------------------------
    def score(
        self, question: str, history: Sequence[Turn] | None = None, *, filter: SearchFilter | None = None,
        settings: AnswerSettings | None = None,
    ) -> Scored | Answer:
        """Every candidate of a question with its features and score (what `ask` chooses from, and what the
        scoring model is fitted on); an `Answer` when there is nothing to choose from."""
        settings = settings or self.settings
        ctx = context(question, list(history or ()), self.retriever, self.sentences, self.entities,
                      rewrite_followups=settings.rewrite_followups)
        queries = [ctx.query] if not ctx.followup or ctx.query == ctx.question else [ctx.query, ctx.question]
        hits = _merge(self.retriever.search_batch(queries, settings.k, filter=filter, mode=settings.mode), settings.k)
        if not hits:
            if self.retriever.is_empty():
                return Answer(EMPTY_INDEX_TEXT, True, 0.0, [], ctx.query)
            return Answer(FILTERED_TEXT if filter and not filter.empty else ABSTAIN_TEXT, True, 0.0, [], ctx.query)
        if ctx.followup and ctx.article_id:  # the previous answer's article, whatever the global search found
            own = _within(filter, ctx.article_id, self.retriever)
            if own is not None:
                seen = {h.chunk_id for h in hits}
                hits += [h for h in self.retriever.search(ctx.query, 2, filter=own, mode=settings.mode) if h.chunk_id not in seen]
        candidates = generate(hits, self.sentences, ctx, articles=settings.articles, neighbourhood=settings.neighbourhood)
        texts = {c: self._text(c) for c in candidates}
        wanted = wanted_terms(ctx.resolved, ctx.query)
        candidates = [c for c in candidates if c.first == c.last or each_part_adds(self._parts(c), ctx.resolved, wanted)]
        candidates = shortlist(candidates, texts, ctx, settings.max_followup_candidates if ctx.followup else settings.max_candidates)
        singles = sorted({texts[c] for c in candidates if c.first == c.last})
        queries = [ctx.query] + ([ctx.resolved] if ctx.resolved != ctx.query and content_terms(ctx.resolved) else [])
        aligned = any(f.startswith("maxsim") for f in self.model.features) or any(
            f.startswith("maxsim") for f in self.model.calibrator.get("features", ()))
        with_tokens = self.vectors.encode_tokens(queries, singles) if aligned else None
        if with_tokens is None:  # a model without alignment features, or an encoder without token vectors: the cosines stand in
            qvectors, vectors = self.vectors.encode(queries, singles)
        else:
            qvectors, vectors, qtokens, stokens = with_tokens
        by_text = dict(zip(singles, vectors))
        cand_vectors = [by_text[texts[c]] if c.first == c.last else unit(sum(by_text[s] for s in self._parts(c))) for c in candidates]
        matrix_v = np.stack(cand_vectors) if cand_vectors else np.zeros((0, self.retriever.encoder.dimension), np.float32)
        cos_query = matrix_v @ unit(qvectors[0])
        cos_question = matrix_v @ unit(qvectors[-1])
        alignment = None
        if with_tokens is not None and candidates:
            tokens = {t: v.vectors.astype(np.float32) for t, v in zip(singles, stokens)}
            stacked = [tokens[texts[c]] if c.first == c.last else np.vstack([tokens[s] for s in self._parts(c)]) for c in candidates]
            weights = [token_weights(q, stokens) for q in (qtokens[0], qtokens[-1])]
            alignment = np.array([[maxsim(qtokens[0], weights[0], m), maxsim(qtokens[-1], weights[1], m)] for m in stacked])
        features = feature_matrix(ctx, candidates, texts, hits, self.sentences, cos_query, cos_question, alignment)
        scores = self.model.scores(features) if len(candidates) else np.zeros(0)
        allowed = [self._may_repeat(ctx, texts[c], history or ()) for c in candidates]
        return Scored(ctx, hits, candidates, [texts[c] for c in candidates], features, scores, allowed)

    def _may_repeat(self, ctx: Context, text: str, history: Sequence[Turn]) -> bool:
        """A follow-up gets an earlier answer again only when that sentence holds what it asks for (a name,
        a number...) that the conversation's questions have not named yet."""
        if not ctx.followup or not any(t.answer and (t.answer in text or text in t.answer) for t in history):
            return True
        return bool(short_kind(ctx.resolved) or ctx.kind) and short_answer(
            ctx.resolved, text, self.entities, known=ctx.known, kind=ctx.kind) is not None

    def _answer(self, scored: Scored, settings: AnswerSettings) -> Answer:
        ctx, hits = scored.ctx, scored.hits
        best_per_hit: dict[int, tuple[float, Candidate]] = {}  # each passage's closest sentence (cosine to the query)
        for closeness, cand in zip(scored.features[:, 0] if len(scored.candidates) else [], scored.candidates):
            if cand.first == cand.last and closeness > best_per_hit.get(cand.hit_rank, (-1.0, cand))[0]:
                best_per_hit[cand.hit_rank] = (float(closeness), cand)
        choices = [i for i, ok in enumerate(scored.allowed) if ok]
        threshold = self.model.threshold if settings.threshold is None else settings.threshold
        if not choices:
            return Answer(ABSTAIN_TEXT, True, 0.0, self._citations(hits, None, best_per_hit, settings), ctx.query)
        best = max(choices, key=lambda i: (scored.scores[i], -i))
        cand, text = scored.candidates[best], scored.texts[best]
        runner_up = max((float(scored.scores[i]) for i in choices if i != best), default=0.0)
        probability = round(self.model.probability(float(scored.scores[best]), scored.features[best], runner_up), 4)
        log.debug("best %.3f (threshold %.3f): %s", probability, threshold, text)
        if probability < threshold:  # the nearest passages, the best guess's first (unmarked): the user may judge it
            citations = self._citations(hits, cand, best_per_hit, settings, mark=False)
            return Answer(ABSTAIN_TEXT, True, probability, citations, ctx.query, probability)
        short = short_answer(ctx.resolved, text, self.entities, known=ctx.known, kind=ctx.kind) if settings.short_answers else None
        citations = self._citations(hits, cand, best_per_hit, settings)
        return Answer(text, False, probability, citations, ctx.query, probability, short)

    # -- citations ---------------------------------------------------------------------------
    def _citations(
        self, hits: list[Hit], answer: Candidate | None, best_per_hit: dict[int, tuple[float, Candidate]], settings: AnswerSettings,
        *, mark: bool = True,
    ) -> list[Citation]:
        """The answer's excerpt first (its span marked), then other passages that bear on it, each around its best
        sentence. An abstention (`mark=False`) cites the nearest passages whatever their scores, they show what was
        found, its best guess's excerpt first, unmarked."""
        citations: list[Citation] = []
        if answer is not None:
            citations.append(self._citation(hits[answer.hit_rank], answer, settings, mark=mark))
        cited = {answer.article_id: [answer]} if answer is not None else {}
        for rank, hit in enumerate(hits):
            if len(citations) >= settings.max_citations:
                break
            if rank not in best_per_hit or (mark and answer is not None and best_per_hit[rank][0] < settings.min_support):
                continue
            cand = best_per_hit[rank][1]
            if any(c.first <= cand.last + settings.context_sentences and cand.first <= c.last + settings.context_sentences
                   for c in cited.get(cand.article_id, [])):
                continue  # the same sentences again (a follow-up's second search of the article)
            cited.setdefault(cand.article_id, []).append(cand)
            citations.append(self._citation(hit, cand, settings, mark=False))
        return citations

    def _citation(self, hit: Hit, cand: Candidate, settings: AnswerSettings, *, mark: bool) -> Citation:
        """An excerpt of the passage: the sentence(s) with some context; `score` is the passage's."""
        text, spans = self.sentences.get(cand.article_id)
        first, last = cand.first, cand.last
        low, high = min(hit.start, spans[first][0]), max(hit.end, spans[last][1])
        for _ in range(settings.context_sentences):
            if first > 0 and is_prose(text[slice(*spans[first - 1])]) and spans[first - 1][0] >= low:
                first -= 1
            if last + 1 < len(spans) and is_prose(text[slice(*spans[last + 1])]) and spans[last + 1][1] <= high:
                last += 1
        start, end = spans[first][0], spans[last][1]
        a, b = (cand.start - start, cand.end - start) if mark else (0, 0)
        return Citation(**hit.ref_fields(), excerpt=text[start:end], excerpt_start=start, answer_start=a, answer_end=b, score=round(hit.score, 4))

    def _text(self, cand: Candidate) -> str:
        text, _ = self.sentences.get(cand.article_id)
        return text[cand.start : cand.end]

    def _parts(self, cand: Candidate) -> list[str]:
        text, spans = self.sentences.get(cand.article_id)
        return [text[slice(*spans[i])] for i in range(cand.first, cand.last + 1)]


def _merge(rankings: list[list[Hit]], k: int) -> list[Hit]:
    """Hits of several searches interleaved by rank, each passage once: the first search's first."""
    out: list[Hit] = []
    seen: set[int] = set()
    for rank in range(max(map(len, rankings), default=0)):
        for hits in rankings:
            if rank < len(hits) and hits[rank].chunk_id not in seen:
                seen.add(hits[rank].chunk_id)
                out.append(hits[rank])
    return out[: k + (k // 2 if len(rankings) > 1 else 0)]


def _within(flt: SearchFilter | None, article_id: str, retriever: Retriever) -> SearchFilter | None:
    """The user's filter narrowed to one article; None when the filter names other articles only."""
    if flt is None or flt.empty:
        return SearchFilter(article_ids=(article_id,))
    if flt.article_ids and article_id not in {retriever.resolve(a) or a for a in flt.article_ids}:
        return None
    return replace(flt, article_ids=(article_id,))


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
