"""A local GGUF model run in this process by xllamacpp (llama.cpp): the file's chat template, tokens as they come."""

from __future__ import annotations

import logging
import os
import queue
import secrets
import threading
from pathlib import Path
from typing import Any, Iterator, Sequence, Union

import httpx

from qa.answerers.llm.base import (
    DEFAULT_CONTEXT_SIZE,
    DEFAULT_MAX_TOKENS,
    ContextOverflowError,
    Finish,
    GenerationSettings,
    Generator,
    Messages,
    ModelFileError,
    check_messages,
)
from qa.errors import ConfigError, GenerationError

log = logging.getLogger(__name__)
INSTALL_HINT = "pip install 'article-qa[llm]' (or pip install xllamacpp)"
_END = object()


def default_threads() -> int:
    """Half the usable cores, at least 1: llama.cpp's threads wait on each other, so on a shared CPU fewer win."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, cores // 2)


def check_gguf(path: str | os.PathLike[str]) -> Path:
    """The path, resolved, if it is a readable GGUF file; a ModelFileError saying what is wrong otherwise."""
    p = Path(path).expanduser()
    if not p.exists():
        raise ModelFileError(f"model file not found: {p}")
    if not p.is_file():
        raise ModelFileError(f"{p} is a directory, not a model file: give the path of a .gguf file")
    try:
        with p.open("rb") as f:
            magic = f.read(4)
    except OSError as exc:
        raise ModelFileError(f"cannot read the model file {p}: {exc.strerror or exc}") from None
    if magic != b"GGUF":
        raise ModelFileError(f"{p} is not a GGUF model file (it does not start with the GGUF signature)")
    return p.resolve()


def _xllamacpp() -> Any:
    try:
        import xllamacpp
    except ImportError:
        raise ConfigError(f"local GGUF models need the xllamacpp package: {INSTALL_HINT}") from None
    return xllamacpp


class LocalGenerator(Generator):
    """A GGUF chat model in this process; thread-safe, `parallel` requests decode at once, the rest queue."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        context_size: int = DEFAULT_CONTEXT_SIZE,
        threads: int | None = None,
        batch_threads: int | None = None,
        parallel: int = 1,
        cache_prompt: bool = True,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        temperature: float = 0.0,
        stop: Sequence[str] | str = (),
    ) -> None:
        super().__init__(max_tokens=max_tokens, temperature=temperature, stop=stop)
        self.path = check_gguf(path)
        threads = default_threads() if threads is None else threads
        batch_threads = threads if batch_threads is None else batch_threads
        for label, value, low in (("context_size", context_size, 64), ("threads", threads, 1),
                                  ("batch_threads", batch_threads, 1), ("parallel", parallel, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"{label} must be a whole number of at least {low}, got {value!r}")
        self.threads, self.batch_threads, self.parallel = threads, batch_threads, parallel
        self.cache_prompt = bool(cache_prompt)
        self._context_size = context_size
        xlc = _xllamacpp()
        params = xlc.CommonParams()
        params.model.path = str(self.path)
        params.n_ctx = context_size * parallel  # llama.cpp splits the context between its parallel slots
        params.n_parallel = parallel
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = batch_threads
        params.verbosity = 3 if log.isEnabledFor(logging.DEBUG) else 0
        # The embedded server also listens on loopback (we use it to tokenize); a random key keeps it ours.
        key = secrets.token_urlsafe(24)
        params.hostnames = ["127.0.0.1"]
        params.port = 0
        params.api_keys = [key]
        params.ui = False
        try:
            self._server: Any = xlc.Server(params)
        except RuntimeError as exc:
            raise ModelFileError(
                f"llama.cpp could not load {self.path} ({exc}): the file may be truncated, hold a model "
                "architecture this xllamacpp version does not know, or need more memory than context_size leaves"
            ) from None
        self._http = httpx.Client(
            base_url=self._server.listening_address,
            headers={"Authorization": f"Bearer {key}"},
            timeout=30.0,
            trust_env=False,
        )
        log.info("loaded %s (context %d, %d threads)", self.path.name, context_size, threads)

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def context_size(self) -> int:
        return self._context_size

    def close(self) -> None:
        self._http.close()
        self._server = None  # the server stops when the last request holding it ends

    def chat_prompt(self, messages: Messages) -> str:
        """The prompt text the model reads for these messages: its own chat template applied."""
        return self._post("/apply-template", {"messages": check_messages(messages)})["prompt"]

    def _stream(self, messages: list[dict[str, str]], settings: GenerationSettings) -> Iterator[Union[str, Finish]]:
        request: dict[str, Any] = {
            "messages": messages,
            "stream": True,
            "max_tokens": settings.max_tokens,
            "temperature": settings.temperature,
            "cache_prompt": self.cache_prompt,
        }
        if settings.stop:
            request["stop"] = list(settings.stop)
        return self._run(request)

    def _run(self, request: dict[str, Any]) -> Iterator[Union[str, Finish]]:
        server = self._server
        if server is None:
            raise GenerationError(f"{self.name} was closed")
        chunks: queue.SimpleQueue[Any] = queue.SimpleQueue()
        cancel = threading.Event()

        def on_chunk(chunk: Any) -> bool:
            chunks.put(chunk)
            return cancel.is_set()  # True tells llama.cpp to stop generating

        def work() -> None:
            try:
                server.handle_chat_completions(request, on_chunk)
            except Exception as exc:  # noqa: BLE001 - handed to the consumer
                chunks.put(exc)
            finally:
                chunks.put(_END)

        threading.Thread(target=work, name=f"llm-{self.name}", daemon=True).start()
        try:
            while (item := chunks.get()) is not _END:
                if isinstance(item, Exception):
                    raise GenerationError(f"{self.name} failed: {item}") from item
                yield from self._pieces(item)
        finally:
            cancel.set()

    def _pieces(self, chunk: Any) -> Iterator[Union[str, Finish]]:
        if not isinstance(chunk, dict):
            return
        if "error" in chunk:
            raise self._error(chunk["error"])
        for choice in chunk.get("choices") or ():
            text = (choice.get("delta") or {}).get("content")
            if text:
                yield text
            if choice.get("finish_reason"):
                yield Finish(choice["finish_reason"])

    def _error(self, error: Any) -> GenerationError:
        if isinstance(error, dict) and error.get("type") == "exceed_context_size_error":
            return ContextOverflowError(self.name, error.get("n_prompt_tokens"), error.get("n_ctx"))
        message = error.get("message", error) if isinstance(error, dict) else error
        return GenerationError(f"{self.name} failed: {message}")

    def _count_text(self, text: str) -> int:
        return len(self._tokenize(text, add_special=False))

    def _count_messages(self, messages: list[dict[str, str]]) -> int:
        # What llama.cpp does for a chat request: render the template, tokenize with special tokens parsed.
        prompt = self._post("/apply-template", {"messages": messages})["prompt"]
        return len(self._tokenize(prompt, add_special=True))

    def _tokenize(self, text: str, *, add_special: bool) -> list[int]:
        body = {"content": text, "add_special": add_special, "parse_special": True}
        return self._post("/tokenize", body)["tokens"]

    def _post(self, route: str, body: dict[str, Any]) -> dict[str, Any]:
        if self._server is None:
            raise GenerationError(f"{self.name} was closed")
        try:
            response = self._http.post(route, json=body)
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise GenerationError(f"{self.name}: its tokenizer did not answer ({exc})") from exc
