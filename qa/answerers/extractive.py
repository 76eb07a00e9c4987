"""The extractive answerer: quotes the sentence (or two) of the retrieved passages that answers a question."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Iterator, Sequence

import numpy as np

from qa import config
from qa.answerers.alignment import maxsim, token_weights
from qa.answerers.calibration import Calibration
from qa.answerers.candidates import Candidate, feature_matrix, generate, shortlist
from qa.answerers.citing import citations as cite
from qa.answerers.entities import EntityTagger, shared_tagger
from qa.answerers.features import content_terms, is_prose, short_kind
from qa.answerers.followups import Context, context
from qa.answerers.pairs import PairText, place
from qa.answerers.reader import Reader, load_calibration, load_reader
from qa.answerers.scoring import ScoringModel, load_scoring_model
from qa.answerers.sentence_cache import ArticleSentences, QueryMemo, SentenceVectors, unit
from qa.answerers.short import short_answer
from qa.reading.chunking import split_sentences
from qa.conversation import ABSTAINED, Turn
from qa.errors import ConfigError
from qa.retrieval import MODES, Retriever
from qa.types import Answer, AnswerEvent, Hit, RunnerUp, SearchFilter, TextDelta

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
    threshold: float | None = None  # abstain below this probability of being right (None: the calibrated one)
    context_sentences: int = 1  # sentences of context on each side of the answer in its excerpt
    max_citations: int = 3
    min_support: float = 0.3  # beside an answer, another passage is cited only if its best sentence is this close (cosine)
    articles: int = 3  # every sentence of this many best articles is a candidate, not only those in the passages
    max_candidates: int = 150  # sentences scored by the prefilter at most (each costs an encoding on a cold cache)
    read: int = 24  # the prefilter's best candidates that the reader reads (each costs a cross-encoder pass)
    neighbourhood: int = 3  # for a follow-up, sentences on each side of the previous answer that are always candidates
    rewrite_followups: bool = True
    short_answers: bool = True  # mark the person, number, date or place asked for inside the answer sentence
    runner_up: bool = True  # also mark a close second candidate (lighter), so a user sees it

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ConfigError(f"k must be at least 1, got {self.k}")
        if self.mode not in MODES:
            raise ConfigError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.threshold is not None and not 0.0 <= self.threshold <= 1.0:
            raise ConfigError(f"threshold must be between 0 and 1, got {self.threshold}")
        if self.context_sentences < 0 or self.max_citations < 1:
            raise ConfigError("context_sentences must be >= 0 and max_citations >= 1")
        if min(self.max_candidates, self.read, self.articles) < 1 or self.neighbourhood < 0:
            raise ConfigError(f"max_candidates, read and articles must be >= 1 and neighbourhood >= 0, got "
                              f"{self.max_candidates}, {self.read}, {self.articles}, {self.neighbourhood}")


@dataclass
class Scored:
    """Everything the answerer computed for one question: its context, passages, candidates, the prefilter's
    features and scores, and the reader's logits (NaN where it did not read the candidate)."""

    ctx: Context
    hits: list[Hit]
    candidates: list[Candidate]
    texts: list[str]
    features: np.ndarray  # one row of candidates.FEATURES per candidate
    scores: np.ndarray  # the prefilter's score per candidate
    allowed: list[bool]  # False: never chosen (every candidate is allowed now; the reader judges repeats)
    logits: np.ndarray = field(default_factory=lambda: np.zeros(0))  # the reader's, per candidate (NaN: not read)
    spans: dict[int, tuple[int, int]] = field(default_factory=dict)  # the reader's short span in a candidate's text


class ExtractiveAnswerer:
    """`ExtractiveAnswerer(Retriever.load(dir)).ask("What did Putin reject?")` returns an `Answer` with citations.

    Candidates are every sentence of the best articles (and the passages); a prefilter (a linear model over cheap
    features, `model`) keeps the `read` most promising, and the reader (a cross-encoder, `reader`) scores those;
    its best logit, calibrated, is the probability that the answer is right."""

    style = "quoted"

    def __init__(
        self,
        retriever: Retriever,
        settings: AnswerSettings | None = None,
        *,
        sentence_cache: bool = True,
        model: ScoringModel | None = None,
        reader: Reader | str | None = None,
        calibration: Calibration | None = None,
        entities: EntityTagger | None = None,
        **overrides: object,
    ) -> None:
        self.retriever = retriever
        if not isinstance(retriever.encoder, QueryMemo):
            retriever.encoder = QueryMemo(retriever.encoder)  # the query is encoded once, not twice
        self.settings = replace(settings or AnswerSettings(), **overrides)  # type: ignore[arg-type]
        self.model = model or load_scoring_model(retriever.encoder.name, retriever.location)
        self._reader = reader
        self._calibration = calibration
        self.entities = entities or shared_tagger()
        self.sentences = ArticleSentences(lambda article_id: self.retriever.article(article_id), lambda: self.retriever.version)
        self.vectors = SentenceVectors(retriever.encoder, retriever.location, use_file=sentence_cache)

    @property
    def reader(self) -> Reader:
        """The reader, loaded on first use (the packaged one unless another was given)."""
        if self._reader is None or isinstance(self._reader, str):
            self._reader = load_reader(self._reader)
        return self._reader

    @property
    def calibration(self) -> Calibration:
        """What turns the reader's logit into a probability, and the threshold: the index's, else the reader's."""
        if self._calibration is None:
            self._calibration = load_calibration(self.reader, self.retriever.location)
        return self._calibration

    # -- the protocol ------------------------------------------------------------------------
    def ask(
        self, question: str, history: Sequence[Turn] | None = None, *, filter: SearchFilter | None = None, **overrides: object
    ) -> Answer:
        """Answer one question (a follow-up when `history` holds earlier turns, oldest first), or abstain."""
        return self.examine(question, history, filter=filter, **overrides)[0]

    def examine(
        self, question: str, history: Sequence[Turn] | None = None, *, filter: SearchFilter | None = None, **overrides: object
    ) -> tuple[Answer, Scored | None]:
        """The answer and what it was chosen from: every candidate, the prefilter's scores, the reader's logits (the
        written answerer reads its passages from there); None when there was nothing to choose from."""
        settings = replace(self.settings, **overrides)  # type: ignore[arg-type]
        question = check_question(question)
        scored = self.score(question, history, filter=filter, settings=settings)
        if isinstance(scored, Answer):
            return scored, None
        self.read(scored, history or (), settings)
        return self._answer(scored, history or (), settings), scored

    def stream(
        self, question: str, history: Sequence[Turn] | None = None, *, filter: SearchFilter | None = None, **overrides: object
    ) -> Iterator[AnswerEvent]:
        """The answer as events: its text (a quote is whole at once), then the final `Answer`."""
        answer = self.ask(question, history, filter=filter, **overrides)
        yield TextDelta(answer.text)
        yield answer

    def warm(self, batch_size: int = 128, *, save: bool = True) -> int:
        """Encode every prose sentence of the index ahead of questions (kept in a cache file beside the
        index, so a restart is warm at once), load the entity model and the reader; returns how many sentences were new."""
        self.entities.entities("Warm-up in Paris on Monday.")
        self.reader.read([PairText("warm-up?", "Warm-up in Paris on Monday.")])
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
        """Every candidate of a question with the prefilter's features and score (what `read` picks from, and what
        the prefilter is fitted on); an `Answer` when there is nothing to choose from."""
        settings = settings or self.settings
        ctx = context(question, list(history or ()), self.retriever, self.sentences, self.entities,
                      rewrite_followups=settings.rewrite_followups)
        queries = [ctx.query] if not ctx.followup or ctx.query == ctx.question else [ctx.query, ctx.question]
        hits = _merge(self.retriever.search_batch(queries, settings.k, filter=filter, mode=settings.mode), settings.k)
        if not hits:
            if self.retriever.is_empty():
                return Answer(EMPTY_INDEX_TEXT, True, 0.0, [], ctx.query)
            return Answer(FILTERED_TEXT if filter and not filter.empty else ABSTAIN_TEXT, True, 0.0, [], ctx.query)
        if ctx.followup and ctx.article_id:  # the conversation's article, whatever the global search found
            own = _within(filter, ctx.article_id, self.retriever)
            if own is not None:
                seen = {h.chunk_id for h in hits}
                hits += [h for h in self.retriever.search(ctx.query, 2, filter=own, mode=settings.mode) if h.chunk_id not in seen]
        candidates = generate(hits, self.sentences, ctx, articles=settings.articles, neighbourhood=settings.neighbourhood)
        texts = {c: self._text(c) for c in candidates}
        candidates = shortlist(candidates, texts, ctx, settings.max_candidates)
        singles = sorted({texts[c] for c in candidates})
        queries = [ctx.query] + ([ctx.resolved] if ctx.resolved != ctx.query and content_terms(ctx.resolved) else [])
        aligned = any(f.startswith("maxsim") for f in self.model.features) or any(
            f.startswith("maxsim") for f in self.model.calibrator.get("features", ()))
        with_tokens = self.vectors.encode_tokens(queries, singles) if aligned else None
        if with_tokens is None:  # a model without alignment features, or an encoder without token vectors: the cosines stand in
            qvectors, vectors = self.vectors.encode(queries, singles)
        else:
            qvectors, vectors, qtokens, stokens = with_tokens
        by_text = dict(zip(singles, vectors))
        cand_vectors = [by_text[texts[c]] for c in candidates]
        matrix_v = np.stack(cand_vectors) if cand_vectors else np.zeros((0, self.retriever.encoder.dimension), np.float32)
        cos_query = matrix_v @ unit(qvectors[0])
        cos_question = matrix_v @ unit(qvectors[-1])
        alignment = None
        if with_tokens is not None and candidates:
            tokens = {t: v.vectors.astype(np.float32) for t, v in zip(singles, stokens)}
            stacked = [tokens[texts[c]] for c in candidates]
            weights = [token_weights(q, stokens) for q in (qtokens[0], qtokens[-1])]
            alignment = np.array([[maxsim(qtokens[0], weights[0], m), maxsim(qtokens[-1], weights[1], m)] for m in stacked])
        features = feature_matrix(ctx, candidates, texts, hits, self.sentences, cos_query, cos_question, alignment)
        scores = self.model.scores(features) if len(candidates) else np.zeros(0)
        allowed = [True] * len(candidates)  # a follow-up may be answered by the previous answer again: the reader judges
        return Scored(ctx, hits, candidates, [texts[c] for c in candidates], features, scores, allowed,
                      np.full(len(candidates), np.nan))

    def read(self, scored: Scored, history: Sequence[Turn], settings: AnswerSettings | None = None) -> list[int]:
        """Let the reader score the prefilter's `settings.read` best allowed candidates (fills `scored.logits` and,
        for a question asking for a short answer, `scored.spans`); returns their rows."""
        settings = settings or self.settings
        rows = sorted((i for i, ok in enumerate(scored.allowed) if ok), key=lambda i: -scored.scores[i])[: settings.read]
        if not rows:
            return rows
        last = history[-1] if scored.ctx.followup and history else None
        pairs = [self.pair(scored, i, last) for i in rows]
        want_spans = settings.short_answers and bool(short_kind(scored.ctx.resolved) or scored.ctx.kind)
        out = self.reader.read(pairs, spans=want_spans)
        stack = float(self.reader.config.get("stack", 0.0))  # the prefilter's logit beside the reader's (chosen on dev)
        prior = np.log(np.clip(scored.scores[rows], 1e-6, 1 - 1e-6) / np.clip(1 - scored.scores[rows], 1e-6, 1))
        scored.logits[rows] = out.logits + stack * prior if stack else out.logits
        scored.spans = {i: span for i, span in zip(rows, out.spans) if span is not None}
        return rows

    def pair(self, scored: Scored, row: int, last: Turn | None) -> PairText:
        """What the reader reads for one candidate: the question after the conversation's last turn, the article's
        title, the candidate and the prose sentences beside it."""
        cand = scored.candidates[row]
        text, spans = self.sentences.get(cand.article_id)

        def side(i: int) -> str:
            if 0 <= i < len(spans):
                sentence = text[slice(*spans[i])]
                return sentence if is_prose(sentence) else ""
            return ""

        previous = "" if last is None or last.answer.startswith(ABSTAIN_TEXT) else last.answer
        where = ""
        if last is not None:
            ctx = scored.ctx
            where = place(bool(ctx.article_id) and cand.article_id == ctx.article_id, cand.first - ctx.sentence if ctx.sentence >= 0 else None)
        return PairText(scored.ctx.question, scored.texts[row], scored.hits[cand.hit_rank].title, side(cand.first - 1),
                        side(cand.last + 1), last.question if last else "", previous, where)

    def _answer(self, scored: Scored, history: Sequence[Turn], settings: AnswerSettings) -> Answer:
        ctx, hits = scored.ctx, scored.hits
        best_per_hit: dict[int, tuple[float, Candidate]] = {}  # each passage's closest sentence (cosine to the query)
        for closeness, cand in zip(scored.features[:, 0] if len(scored.candidates) else [], scored.candidates):
            if closeness > best_per_hit.get(cand.hit_rank, (-1.0, cand))[0]:
                best_per_hit[cand.hit_rank] = (float(closeness), cand)
        read = [i for i in range(len(scored.candidates)) if scored.allowed[i] and not np.isnan(scored.logits[i])]
        threshold = self.calibration.threshold if settings.threshold is None else settings.threshold
        if not read:
            return Answer(ABSTAIN_TEXT, True, 0.0, cite(self.sentences, hits, None, best_per_hit, settings), ctx.query)
        order = sorted(read, key=lambda i: (-scored.logits[i], i))
        best = order[0]
        cand, text = scored.candidates[best], scored.texts[best]
        nxt = next((i for i in order[1:] if scored.texts[i] != text), None)  # the lead is over other words than the answer's
        lead_over = scored.logits[nxt] if nxt is not None else None
        probability = round(float(self.calibration.probability(scored.logits[best], lead_over)), 4)
        log.debug("best %.3f (threshold %.3f): %s", probability, threshold, text)
        if probability < threshold:  # the nearest passages, the best guess's first (unmarked): the user may judge it
            citations = cite(self.sentences, hits, cand, best_per_hit, settings, mark=False)
            return Answer(ABSTAIN_TEXT, True, probability, citations, ctx.query, probability)
        second = self._runner_up(scored, order, probability) if settings.runner_up else None
        short = None
        if settings.short_answers:
            short = short_answer(ctx.resolved, text, self.entities, known=ctx.known, kind=ctx.kind)
        citations = cite(self.sentences, hits, cand, best_per_hit, settings,
                         runner_up=scored.candidates[second] if second is not None else None)
        runner_up = None
        if second is not None:
            c = scored.candidates[second]
            runner_up = RunnerUp(scored.texts[second], round(float(self.calibration.probability(scored.logits[second])), 4),
                                 c.article_id, c.start, c.end)
        return Answer(text, False, probability, citations, ctx.query, probability, short, runner_up=runner_up)

    def _runner_up(self, scored: Scored, order: list[int], probability: float) -> int | None:
        """The next candidate with other words than the answer (a twin article repeats sentences), when it came
        close: its probability at least `calibration.runner_up` of the answer's."""
        second = next((i for i in order[1:] if scored.texts[i] != scored.texts[order[0]]), None)
        if second is None:
            return None
        p = float(self.calibration.probability(scored.logits[second]))
        return second if p >= self.calibration.runner_up * probability else None

    def _text(self, cand: Candidate) -> str:
        text, _ = self.sentences.get(cand.article_id)
        return text[cand.start : cand.end]


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
