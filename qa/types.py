"""Typed records passed between the pipeline stages: Article, Chunk, ArticleRef, Hit, Answer, Citation, Claim."""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field, fields
from datetime import date
from typing import Any

from qa import config
from qa.errors import ConfigError

_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Article:
    """A cleaned article: its text plus the metadata shown beside answers."""

    id: str
    text: str
    title: str = ""
    url: str = ""
    published: str = ""  # ISO date (YYYY-MM-DD) or ""
    source: str = ""  # site or publisher, or the local path it came from
    author: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            raise ConfigError("Article.id must be a non-empty string")
        for name in ("id", "text", "title", "url", "source", "author"):
            bad = _SURROGATE.search(getattr(self, name))
            if bad:  # it cannot be stored or encoded as UTF-8; the readers replace them with U+FFFD
                raise ConfigError(f"Article.{name} holds a lone surrogate (U+{ord(bad.group()):04X}) at {bad.start()}")
        if self.published:
            try:
                date.fromisoformat(self.published)
            except ValueError:
                raise ConfigError(
                    f"Article.published must be an ISO date (YYYY-MM-DD), got {self.published!r}"
                ) from None

    def ref_fields(self) -> dict[str, str]:
        """The article's `ArticleRef` fields by name (its `id` as `article_id`): `Passage(**article.ref_fields(), ...)`."""
        return {f.name: getattr(self, "id" if f.name == "article_id" else f.name) for f in fields(ArticleRef)}

    @property
    def content_hash(self) -> str:
        """A hash of everything stored for the article: unchanged hash means nothing to redo."""
        h = hashlib.sha256()
        for part in (self.text, self.title, self.url, self.published, self.source, self.author):
            h.update(part.encode("utf-8"))
            h.update(b"\x00")
        return h.hexdigest()


@dataclass(frozen=True)
class Chunk:
    """A sentence-aligned passage of an article, with its character span in `Article.text`."""

    article_id: str
    index: int
    start: int
    end: int
    text: str

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end:
            raise ConfigError(f"Chunk span must satisfy 0 <= start <= end, got {self.start}..{self.end}")


@dataclass(frozen=True, kw_only=True)
class ArticleRef:
    """Which article a record is about, as its source card shows it. `Hit`, `Citation`, the store's `StoredChunk`
    and the prompt's `Passage` are each an ArticleRef plus their own fields; all are built by keyword, and one is
    made from another with `**other.ref_fields()`, so a field added here reaches every one of them."""

    article_id: str
    title: str
    url: str
    published: str  # ISO date (YYYY-MM-DD) or ""
    source: str

    def ref_fields(self) -> dict[str, str]:
        """The ArticleRef fields by name: `Citation(**hit.ref_fields(), excerpt=...)`."""
        return {f.name: getattr(self, f.name) for f in fields(ArticleRef)}


@dataclass(frozen=True, kw_only=True)
class Hit(ArticleRef):
    """One retrieved passage with its article's metadata and score (higher is better)."""

    score: float
    chunk_id: int
    text: str
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return {"score": data.pop("score"), "chunk_id": data.pop("chunk_id"), **data}  # the order `qa search --json` prints


@dataclass(frozen=True)
class SearchFilter:
    """Restricts a search to some sources, a published-date range or some article ids."""

    sources: tuple[str, ...] = ()
    since: str = ""  # ISO date, inclusive
    until: str = ""  # ISO date, inclusive
    article_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            value = getattr(self, name)
            if value:
                try:
                    date.fromisoformat(value)
                except ValueError:
                    raise ConfigError(f"filter {name} must be an ISO date (YYYY-MM-DD), got {value!r}") from None
        if self.since and self.until and self.since > self.until:
            raise ConfigError(f"filter since ({self.since}) is after until ({self.until})")

    @property
    def empty(self) -> bool:
        return not (self.sources or self.since or self.until or self.article_ids)


@dataclass(frozen=True, kw_only=True)
class Citation(ArticleRef):
    """The evidence for an answer: an excerpt of one article and the answer's span inside it."""

    excerpt: str
    excerpt_start: int  # offset of the excerpt in the article text
    answer_start: int  # offsets of the answer (a written one: its supporting sentence) inside `excerpt`; equal when none
    answer_end: int
    score: float
    marker: int = 0  # the [n] a written answer cites this passage by; 0 for quoted answers
    runner_up_start: int = 0  # a close second candidate inside `excerpt` (shown lighter than the answer); equal when none
    runner_up_end: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.answer_start <= self.answer_end <= len(self.excerpt):
            raise ConfigError(
                f"answer span {self.answer_start}..{self.answer_end} lies outside the excerpt "
                f"of length {len(self.excerpt)}"
            )
        if not 0 <= self.runner_up_start <= self.runner_up_end <= len(self.excerpt):
            raise ConfigError(f"runner-up span {self.runner_up_start}..{self.runner_up_end} lies outside the excerpt")


@dataclass(frozen=True)
class RunnerUp:
    """A second candidate sentence that came close to the answer: shown (lighter) so a user can judge it."""

    text: str
    confidence: float  # its own probability of being right
    article_id: str
    start: int  # its span in the article's text
    end: int


@dataclass(frozen=True)
class ShortAnswer:
    """The short span inside an answer that names what was asked for: a person, number, date, place."""

    text: str
    start: int  # offsets inside `Answer.text`
    end: int
    kind: str = ""  # person, number, date, place, organisation...

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end:
            raise ConfigError(f"short answer span must satisfy 0 <= start <= end, got {self.start}..{self.end}")


@dataclass(frozen=True)
class Claim:
    """One sentence of a written answer, checked against the passages the model read.

    `markers` are the passages that support it (the `Citation.marker`s of its evidence, after attribution);
    `cited` the valid markers the model itself wrote. An unsupported claim has no markers and is never shown
    as fact. `start`/`end` locate its text in `Answer.text` (its markers follow it there); -1 when the claim is
    not part of the answer text (the draft of a written answer that fell back to the quoted one).
    """

    text: str
    start: int
    end: int
    supported: bool
    support: float = 0.0  # the calibrated probability that its best passage supports it
    markers: tuple[int, ...] = ()
    cited: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if (self.start, self.end) != (-1, -1) and not 0 <= self.start <= self.end:
            raise ConfigError(f"claim span must satisfy 0 <= start <= end (or be -1, -1), got {self.start}..{self.end}")
        if self.supported and not self.markers:
            raise ConfigError(f"a supported claim names the passages that support it: {self.text[:80]!r}")


@dataclass(frozen=True)
class Answer:
    """What the user sees: the answer text, whether we abstained, and the citations."""

    text: str
    abstained: bool
    confidence: float
    citations: list[Citation] = field(default_factory=list)
    query: str = ""  # the query actually searched (after follow-up rewriting)
    score: float = 0.0  # the raw answer score that the abstention threshold is compared with
    short: ShortAnswer | None = None  # the span of `text` that answers a who/what/when/how-many question
    style: str = config.STYLE  # "quoted": verbatim sentences; "written": generated, each sentence checked
    fallback: bool = False  # a written answer could not be trusted, so this is the quoted answer
    claims: list[Claim] = field(default_factory=list)  # a written answer's sentences as checked (also a fallback's draft)
    note: str = ""  # why a written answer fell back (unsupported sentences, the model failed...), in plain words
    runner_up: RunnerUp | None = None  # a close second candidate (quoted answers), also marked in the citations

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TextDelta:
    """A piece of answer text as it is produced; an answer stream ends with the final `Answer`."""

    text: str


AnswerEvent = TextDelta | Answer
