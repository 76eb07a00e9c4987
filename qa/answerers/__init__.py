"""Answerers: one protocol (`ask`, `stream`) and a registry of implementations by answer style.

An answerer turns a question (and the conversation so far) into an `Answer` whose citations point into
the retrieved articles. `ask` returns the finished answer; `stream` yields it as it is produced: any
number of `TextDelta`s, then exactly one final `Answer` (the same one `ask` would return). Implementations
register a factory under their style ("quoted": the extractive default; "written": generated and checked),
and `open_answerer(retriever, style)` builds one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Protocol, Sequence, runtime_checkable

from qa import config
from qa.conversation import Turn
from qa.errors import ConfigError
from qa.types import Answer, AnswerEvent, SearchFilter

if TYPE_CHECKING:
    from qa.retrieval import Retriever


@runtime_checkable
class AnswererProtocol(Protocol):
    """What every answerer offers: the UI, CLI, evaluation and API call only these."""

    retriever: Retriever
    style: str  # "quoted" or "written": the `Answer.style` of its answers (a fallback says so itself)

    def ask(
        self, question: str, history: Sequence[Turn] | None = None, *, filter: SearchFilter | None = None, **overrides: object
    ) -> Answer:
        """The answer to `question`, a follow-up when `history` holds earlier turns (oldest first); it abstains
        (`Answer.abstained`) rather than guess. Raises ConfigError for an empty or overlong question or a bad setting."""
        ...

    def stream(
        self, question: str, history: Sequence[Turn] | None = None, *, filter: SearchFilter | None = None, **overrides: object
    ) -> Iterator[AnswerEvent]:
        """`TextDelta`s as the answer text is produced, then exactly one final `Answer`; errors as for `ask`."""
        ...


AnswererFactory = Callable[..., AnswererProtocol]  # (retriever, **options) -> answerer
_STYLES: dict[str, AnswererFactory] = {}


def register_answerer(style: str, factory: AnswererFactory) -> None:
    """Make `open_answerer(retriever, style)` build answerers with `factory(retriever, **options)`."""
    if not style or not style.isidentifier():
        raise ConfigError(f"an answer style is a plain name such as 'quoted', got {style!r}")
    _STYLES[style] = factory


def unregister_answerer(style: str) -> None:
    """Forget a registered style (a test's or a plugin's); unknown styles are ignored."""
    _STYLES.pop(style, None)


def answer_styles() -> list[str]:
    """The registered answer styles, the default (`config.STYLE`: "quoted") first."""
    return sorted(_STYLES, key=lambda s: (s != config.STYLE, s))


def open_answerer(retriever: Retriever, style: str = config.STYLE, **options: object) -> AnswererProtocol:
    """An answerer of this style over the retriever; a ConfigError lists the styles there are."""
    if style not in _STYLES:
        raise ConfigError(f"answer style must be one of {', '.join(answer_styles())}, got {style!r}")
    return _STYLES[style](retriever, **options)


def final_answer(events: Iterable[AnswerEvent]) -> Answer:
    """The final `Answer` of a stream (consuming it); a ConfigError if the stream broke the protocol."""
    answers = [e for e in events if isinstance(e, Answer)]
    if len(answers) != 1:
        raise ConfigError(f"an answer stream must end with exactly one Answer, got {len(answers)}")
    return answers[0]


from qa.answerers.extractive import AnswerSettings, ExtractiveAnswerer, check_question  # noqa: E402

register_answerer("quoted", ExtractiveAnswerer)


def _written(retriever: Retriever, **options: object) -> AnswererProtocol:
    """The generative answerer, imported only when asked for (its model runtime is an optional extra)."""
    from qa.answerers.generative import GenerativeAnswerer

    return GenerativeAnswerer(retriever, **options)  # type: ignore[arg-type]


register_answerer("written", _written)

__all__ = [
    "AnswerSettings", "AnswererProtocol", "ExtractiveAnswerer", "answer_styles", "check_question", "final_answer",
    "open_answerer", "register_answerer", "unregister_answerer",
]
