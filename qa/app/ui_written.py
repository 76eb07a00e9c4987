"""Written answers in the app: one model for the app's life, over whichever extractive answerer serves now."""

from __future__ import annotations

import logging
import threading
import weakref
from typing import TYPE_CHECKING, Any, Iterator

from qa import config
from qa.answerers import answer_styles
from qa.errors import ConfigError
from qa.types import Answer, AnswerEvent

if TYPE_CHECKING:
    from qa.answerers.extractive import ExtractiveAnswerer
    from qa.answerers.generative import GenerativeAnswerer, Prepared
    from qa.answerers.llm import Generator

log = logging.getLogger(__name__)
NO_MODEL = "written answers need a language model: start the app with --llm PATH.gguf or --llm URL (or set QA_LLM)"


class WrittenStyle:
    """The app's written answers: the model is loaded once; a `GenerativeAnswerer` is made for each extractive
    answerer the app serves (a new one after an ingest) and dropped with it."""

    def __init__(self, generator: Generator, **settings: Any) -> None:
        from qa.answerers.generative import WrittenSettings

        self.generator = generator
        self.settings = WrittenSettings(**settings)
        self._answerers: weakref.WeakKeyDictionary[ExtractiveAnswerer, GenerativeAnswerer] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    @classmethod
    def load(cls, spec: str, model: str = "", **settings: Any) -> WrittenStyle:
        """The model at `spec` (PATH.gguf or an OpenAI-compatible URL); a GenerationError says why it cannot load."""
        from qa.answerers.llm import load_generator

        return cls(load_generator(spec, model), **settings)

    @property
    def name(self) -> str:
        return self.generator.name

    def over(self, extractive: ExtractiveAnswerer) -> GenerativeAnswerer:
        """The written answerer over this extractive answerer (its retrieval, fallback and abstention)."""
        from qa.answerers.generative import GenerativeAnswerer

        with self._lock:
            answerer = self._answerers.get(extractive)
            if answerer is None:
                answerer = GenerativeAnswerer(extractive.retriever, self.settings, generator=self.generator, extractive=extractive)
                self._answerers[extractive] = answerer
            return answerer

    def close(self) -> None:
        self.generator.close()


def check_style(style: str, written: WrittenStyle | None) -> str:
    """The style, checked: a ConfigError names the valid ones, or says written answers need a model."""
    style = (style or config.STYLE).strip().lower()
    if style not in answer_styles():
        raise ConfigError(f"style must be one of {', '.join(answer_styles())}, got {style!r}")
    if style == "written" and written is None:
        raise ConfigError(NO_MODEL)
    return style


def written_events(answerer: GenerativeAnswerer, question: str, turns: list[Any], **settings: Any) -> Iterator[Prepared | AnswerEvent]:
    """A written answer for the chat: first what the model will read (a `Prepared`, so its passages can be shown
    while it writes), then the answer's events; only the final Answer when the question is not answered."""
    prepared = answerer.prepare(question, turns, **settings)
    if isinstance(prepared, Answer):
        yield prepared
        return
    yield prepared
    yield from answerer.write(prepared)
