"""The generative answerer: a language model writes the answer from the passages, streamed; every sentence is
checked against them, and the quoted answer is given instead (flagged `fallback`) when it cannot be trusted."""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Iterator, Sequence

from qa.answerers.extractive import AnswerSettings, ExtractiveAnswerer, check_question
from qa.answerers.llm import ContextOverflowError, Generator, load_generator
from qa.answerers.markers import SentenceStream, marker_text, valid
from qa.answerers.prompt import Passage, choose_passages, fit_prompt
from qa.answerers.support import NOT_SAID, Evidence, SupportChecker, SupportModel, VectorFn, load_support_model
from qa.conversation import Turn
from qa.errors import ConfigError, GenerationError
from qa.types import Answer, AnswerEvent, Citation, Claim, SearchFilter, ShortAnswer, TextDelta

if TYPE_CHECKING:
    from qa.retrieval import Retriever

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class WrittenSettings:
    """How written answers are made and checked; every field can be overridden per `ask` call."""

    passages: int = 5  # numbered passages in the prompt
    passage_sentences: int = 2  # sentences per passage: the best-scored candidate sentence and its neighbour
    max_tokens: int = 160  # of the model's reply
    max_sentences: int = 4  # the reply is stopped after this many sentences (the prompt asks for one to three)
    max_unsupported: float = 0.0  # fall back when a larger share of the sentences is unsupported (0: any)
    support_threshold: float | None = None  # support probability a passage needs (None: the calibrated one)
    history_turns: int = 2  # earlier turns of the conversation shown to the model
    temperature: float = 0.0

    def __post_init__(self) -> None:
        for name in ("passages", "passage_sentences", "max_tokens", "max_sentences"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a whole number of at least 1, got {value!r}")
        if not isinstance(self.history_turns, int) or self.history_turns < 0:
            raise ConfigError(f"history_turns must be a whole number of at least 0, got {self.history_turns!r}")
        if not 0.0 <= self.max_unsupported <= 1.0:
            raise ConfigError(f"max_unsupported must be a share between 0 and 1, got {self.max_unsupported!r}")
        if self.support_threshold is not None and not 0.0 <= self.support_threshold <= 1.0:
            raise ConfigError(f"support_threshold must be between 0 and 1, got {self.support_threshold!r}")


WRITTEN = frozenset(f.name for f in fields(WrittenSettings))
QUOTED = frozenset(f.name for f in fields(AnswerSettings))


class GenerativeAnswerer:
    """`GenerativeAnswerer(retriever, generator=load_generator("model.gguf")).ask(q)`: a written, checked `Answer`.

    Retrieval, follow-up rewriting, abstention and the fallback are the extractive answerer's (`extractive`,
    built over the same retriever unless given): a written answer is attempted exactly when it would answer.
    """

    style = "written"

    def __init__(
        self,
        retriever: Retriever,
        settings: WrittenSettings | None = None,
        *,
        generator: Generator | str | None = None,
        llm_model: str = "",
        extractive: ExtractiveAnswerer | None = None,
        support_model: SupportModel | None = None,
        **overrides: object,
    ) -> None:
        mine, quoted = split_overrides(overrides)
        self.extractive = extractive or ExtractiveAnswerer(retriever)
        self.retriever = self.extractive.retriever
        self.quoted_overrides = quoted  # defaults for the extractive answerer's settings (k, mode, threshold...)
        self.settings = replace(settings or WrittenSettings(), **mine)  # type: ignore[arg-type]
        self.generator = generator if isinstance(generator, Generator) else load_generator(generator or "", llm_model)
        self.support_model = support_model or load_support_model(self.retriever.encoder.name)

    # -- the protocol ------------------------------------------------------------------------
    def ask(
        self, question: str, history: Sequence[Turn] | None = None, *, filter: SearchFilter | None = None, **overrides: object
    ) -> Answer:
        """The written answer (or the quoted one, flagged `fallback`, when it could not be trusted), or an abstention."""
        answer = None
        for event in self.stream(question, history, filter=filter, **overrides):
            if isinstance(event, Answer):
                answer = event
        assert answer is not None
        return answer

    def stream(
        self, question: str, history: Sequence[Turn] | None = None, *, filter: SearchFilter | None = None, **overrides: object
    ) -> Iterator[AnswerEvent]:
        """The answer text as the model writes it, each sentence followed by the markers of the passages that
        support it ([1][3]) once it is checked, or by [unsupported]; then the final `Answer`."""
        prepared = self.prepare(question, history, filter=filter, **overrides)
        if isinstance(prepared, Answer):  # an abstention (or an empty index): the extractive answerer's, exactly
            yield TextDelta(prepared.text)
            yield prepared
            return
        yield from self.write(prepared)

    def write(self, prepared: Prepared) -> Iterator[AnswerEvent]:
        """The events of `stream` for a question `prepare` made ready: a UI shows the passages meanwhile."""
        return _Writing(self, prepared).run()

    def prepare(
        self, question: str, history: Sequence[Turn] | None = None, *, filter: SearchFilter | None = None, **overrides: object
    ) -> Prepared | Answer:
        """What the model is given for this question (its passages, the conversation, the quoted answer to fall
        back on), or the final Answer when the extractive answerer abstains: no model is asked then."""
        mine, quoted_overrides = split_overrides(overrides)
        settings = replace(self.settings, **mine)  # type: ignore[arg-type]
        quoted_overrides = {**self.quoted_overrides, **quoted_overrides}
        question = check_question(question)
        history = list(history or [])
        quoted, scored = self.extractive.examine(question, history, filter=filter, **quoted_overrides)
        if quoted.abstained or scored is None:
            return replace(quoted, style=self.style)
        passages = choose_passages(scored, self.extractive.sentences, count=settings.passages, width=settings.passage_sentences)
        turns = history[-settings.history_turns :] if settings.history_turns else []
        return Prepared(settings, scored.ctx.resolved, scored.ctx.query, turns, passages, quoted)

    def recheck(self, prepared: Prepared, sentences: Sequence[tuple[str, Sequence[int]]]) -> Answer:
        """The answer that a reply's sentences (text, markers as written) make for a prepared question, as
        `stream` would end it, without asking the model: for calibrating and re-scoring a benchmark's replies."""
        writing = _Writing(self, prepared)
        checker = SupportChecker(prepared.passages, self.vectors(), self.support_model, prepared.settings.support_threshold)
        for i, (text, cited) in enumerate(sentences):
            for _ in writing._finish(text if i == 0 else " " + text, list(cited), checker):
                pass
        return writing._decide()

    def warm(self, batch_size: int = 128, *, save: bool = True) -> int:
        """Warm the extractive answerer's caches (the written answers read the same sentences)."""
        return self.extractive.warm(batch_size, save=save)

    def vectors(self) -> VectorFn:
        """Encodes (claims, passage sentences), the sentences through the extractive answerer's cache."""
        return self.extractive.vectors.encode


def split_overrides(overrides: dict[str, object]) -> tuple[dict[str, object], dict[str, object]]:
    """(written settings, extractive settings) from one set of keyword overrides; unknown names are an error."""
    unknown = sorted(set(overrides) - WRITTEN - QUOTED)
    if unknown:
        raise ConfigError(f"unknown answer setting {', '.join(map(repr, unknown))}; valid: {', '.join(sorted(WRITTEN | QUOTED))}")
    return ({k: v for k, v in overrides.items() if k in WRITTEN}, {k: v for k, v in overrides.items() if k in QUOTED})


@dataclass(frozen=True)
class Prepared:
    """A question ready for the model: the settings, the question as resolved in its conversation, the query
    searched, the earlier turns shown, the numbered passages (before fitting the context), the quoted answer."""

    settings: WrittenSettings
    question: str
    query: str
    turns: list[Turn]
    passages: list[Passage]
    quoted: Answer


class _Writing:
    """One written answer in progress: streams the model's reply, checks each sentence as it ends, decides."""

    def __init__(self, answerer: GenerativeAnswerer, prepared: Prepared) -> None:
        self.answerer, self.settings = answerer, prepared.settings
        self.question, self.query, self.turns = prepared.question, prepared.query, prepared.turns
        self.passages, self.quoted = prepared.passages, prepared.quoted
        self.text = ""  # what was streamed so far
        self.claims: list[Claim] = []
        self.evidence: list[Evidence] = []
        self._current = ""  # prose of the unfinished sentence streamed so far
        self._base = 0  # where the unfinished sentence starts in `text`

    def run(self) -> Iterator[AnswerEvent]:
        generator, s = self.answerer.generator, self.settings
        passages = self.passages
        for attempt in range(2):
            try:
                messages, passages, _ = fit_prompt(generator, self.question, passages, self.turns, s.max_tokens)
                self.passages = passages
                checker = SupportChecker(passages, self.answerer.vectors(), self.answerer.support_model, s.support_threshold)
                reply = generator.stream(messages, max_tokens=s.max_tokens, temperature=s.temperature)
                try:
                    yield from self._read(reply, checker)
                finally:
                    reply.close()
                break
            except ContextOverflowError as exc:  # the server counts differently from our estimate
                if attempt or self.text or len(passages) < 2:
                    yield self._fallback(f"the written answer failed: {exc}")
                    return
                passages = passages[: len(passages) // 2]
            except GenerationError as exc:
                log.warning("written answer failed: %s", exc)
                yield self._fallback(f"the written answer failed: {exc}")
                return
        yield self._decide()

    def _read(self, reply: Iterator[str], checker: SupportChecker) -> Iterator[TextDelta]:
        draft = SentenceStream()
        seen: set[str] = set()
        for piece in reply:
            for sentence in draft.feed(piece):
                key = " ".join(sentence.prose.lower().split())
                if key in seen:  # the model repeats itself: the repeat is dropped (never checked or kept) and it is stopped
                    self.text, self._current = self.text[: self._base].rstrip(), ""
                    return
                seen.add(key)
                yield from self._finish(sentence.prose, sentence.cited, checker)
                if len(self.claims) >= self.settings.max_sentences:
                    return  # enough said: stop it
            delta = self._extend(draft.pending())
            if delta:
                yield TextDelta(delta)
        for sentence in draft.finish():
            yield from self._finish(sentence.prose, sentence.cited, checker)

    def _extend(self, prose: str) -> str:
        """The new part of the unfinished sentence's prose, added to the text."""
        if not self.claims:
            prose = prose.lstrip()
        if len(prose) <= len(self._current) or not prose.startswith(self._current):
            return ""
        delta = prose[len(self._current) :]
        self._current = prose
        self.text += delta
        return delta

    def _finish(self, prose: str, cited: list[int], checker: SupportChecker) -> Iterator[TextDelta]:
        delta = self._extend(prose)
        if delta:
            yield TextDelta(delta)
        sentence = self._current
        claim_text = sentence.strip()
        markers = valid(cited, len(self.passages))
        verdict = checker.check(claim_text, self.question, markers)
        flag = marker_text(verdict.markers)
        start = self._base + len(sentence) - len(sentence.lstrip())
        end = self._base + len(sentence.rstrip())
        self.claims.append(Claim(claim_text, start, end, verdict.supported, verdict.support, verdict.markers, markers))
        self.evidence += verdict.evidence
        self.text += flag
        self._current, self._base = "", len(self.text)
        yield TextDelta(flag)

    def _decide(self) -> Answer:
        claims = self.claims
        supported = sum(c.supported for c in claims)
        if not claims:
            return self._fallback("the model wrote no answer")
        if supported == 0 and all(NOT_SAID.search(c.text) for c in claims):
            return self._fallback("the model found no answer in the passages")
        unsupported = len(claims) - supported
        if supported == 0 or unsupported / len(claims) > self.settings.max_unsupported:
            return self._fallback(f"{unsupported} of {len(claims)} sentence{'s' if len(claims) > 1 else ''} of the "
                                  "written answer are not supported by the passages")
        q = self.quoted
        return Answer(self.text, False, q.confidence, self._citations(), self.query, q.score, self._short(),
                      style="written", claims=claims)

    def _fallback(self, why: str) -> Answer:
        draft = [replace(c, start=-1, end=-1) for c in self.claims]
        return replace(self.quoted, style="quoted", fallback=True, claims=draft,
                       note=f"{why}; this is the quoted answer instead")

    def _citations(self) -> list[Citation]:
        """One citation per supporting sentence, marked inside its passage (the passage the model read)."""
        by_number = {p.number: p for p in self.passages}
        out: dict[tuple[int, int, int], Citation] = {}
        for e in self.evidence:
            p = by_number[e.number]
            out.setdefault((e.number, e.start, e.end), Citation(
                **p.ref_fields(), excerpt=p.text, excerpt_start=p.start, answer_start=e.start, answer_end=e.end, score=p.score,
                marker=e.number))
        return [out[k] for k in sorted(out)]

    def _short(self) -> ShortAnswer | None:
        """The quoted answer's short answer (the name, number... asked for) where a supported sentence says it."""
        short = self.quoted.short
        if short is None:
            return None
        for c in self.claims:
            at = self.text.find(short.text, c.start, c.end) if c.supported else -1
            if at >= 0:
                return ShortAnswer(short.text, at, at + len(short.text), short.kind)
        return None
