"""An OpenAI-compatible chat server (Ollama, vLLM, llama.cpp's server, OpenAI...) streamed over server-sent events."""

from __future__ import annotations

import json
import logging
import os
import random
import re
import threading
import time
from typing import Any, Iterator, Sequence, Union

import httpx

from qa.answerers.llm.base import (
    DEFAULT_CONTEXT_SIZE,
    DEFAULT_MAX_TOKENS,
    AuthenticationError,
    ContextOverflowError,
    Finish,
    GenerationSettings,
    GenerationTimeoutError,
    Generator,
    ModelNotFoundError,
    ServerUnreachableError,
    estimate_message_tokens,
    estimate_tokens,
)
from qa.errors import ConfigError, GenerationError

log = logging.getLogger(__name__)
KEY_VARIABLES = ("QA_LLM_API_KEY", "OPENAI_API_KEY")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 30.0  # seconds: a longer Retry-After is cut to this
_UNSUPPORTED = frozenset({400, 404, 405, 422, 501})  # an optional endpoint the server does not have (in this form)


def base_url(url: str) -> str:
    """The API base that `/chat/completions` hangs off: a bare host gets `/v1`, a full endpoint URL loses its tail."""
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError):
        raise ConfigError(f"not a valid server URL: {url!r}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConfigError(f"a model server URL looks like http://127.0.0.1:11434/v1, got {url!r}")
    path = parsed.path.rstrip("/")
    if path.endswith("/chat/completions"):
        path = path[: -len("/chat/completions")]
    return str(parsed.copy_with(path=path or "/v1", query=None, fragment=None)).rstrip("/")


def _detail(response: httpx.Response) -> str:
    """The server's own words for an error: OpenAI's error.message, Ollama's error, FastAPI's detail, or the text."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:300] or response.reason_phrase
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        for value in (error, body.get("detail"), body.get("message")):
            if value:
                return str(value)[:300]
    return str(body)[:300]


def _overflow(body: Any, model: str) -> ContextOverflowError | None:
    """A context overflow as llama.cpp (exceed_context_size_error), OpenAI or vLLM ("maximum context length") say it."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("type") == "exceed_context_size_error":
        return ContextOverflowError(model, error.get("n_prompt_tokens"), error.get("n_ctx"))
    text = json.dumps(body)
    limit = re.search(r"maximum context length is (\d+)", text)
    if not limit and "context_length_exceeded" not in text:
        return None
    tokens = re.search(r"(?:resulted in|requested|you requested) (\d+) tokens", text)
    return ContextOverflowError(
        model, int(tokens.group(1)) if tokens else None, int(limit.group(1)) if limit else None, _short(text)
    )


def _short(text: str, n: int = 200) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


class OpenAICompatibleGenerator(Generator):
    """A model behind `/v1/chat/completions`; retries connection errors, 429 and 5xx until the first token only."""

    def __init__(
        self,
        url: str,
        *,
        model: str = "",
        api_key: str | None = None,
        context_size: int | None = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 120.0,
        retries: int = 2,
        backoff: float = 0.5,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        temperature: float = 0.0,
        stop: Sequence[str] | str = (),
    ) -> None:
        super().__init__(max_tokens=max_tokens, temperature=temperature, stop=stop)
        self.url = base_url(url)
        self._root = self.url[: -len("/v1")] if self.url.endswith("/v1") else self.url
        for label, value in (("connect_timeout", connect_timeout), ("read_timeout", read_timeout)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ConfigError(f"{label} must be a number of seconds above 0, got {value!r}")
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ConfigError(f"retries must be a whole number of at least 0, got {retries!r}")
        if isinstance(backoff, bool) or not isinstance(backoff, (int, float)) or backoff < 0:
            raise ConfigError(f"backoff must be a number of seconds of at least 0, got {backoff!r}")
        if context_size is not None and (isinstance(context_size, bool) or not isinstance(context_size, int)
                                         or context_size < 64):
            raise ConfigError(f"context_size must be a whole number of at least 64, got {context_size!r}")
        self.retries, self.backoff, self.read_timeout = retries, float(backoff), float(read_timeout)
        if api_key is None:
            api_key = next((os.environ[v] for v in KEY_VARIABLES if os.environ.get(v)), "")
        self._sent_key = bool(api_key)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(headers=headers, timeout=httpx.Timeout(read_timeout, connect=connect_timeout))
        self._model = model.strip()
        self._model_known = bool(self._model)  # else asked of the server's /models on first use
        self._context = context_size
        self._endpoints: dict[str, bool] = {}  # optional routes (tokenize, apply-template) and whether they work
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return f"{self._model} at {self.url}" if self._model else self.url

    @property
    def model(self) -> str:
        """The model name sent with each request ("" lets a one-model server use its own)."""
        if not self._model_known:
            with self._lock:
                if not self._model_known:
                    self._resolve_model()
        return self._model

    @property
    def context_size(self) -> int:
        """The setting if given, else what the server tells (llama.cpp /props, vLLM max_model_len), else 4096."""
        if self._context is None:
            told = self._server_context()
            if told is None:
                log.warning("%s does not tell its context size; assuming %d tokens", self.url, DEFAULT_CONTEXT_SIZE)
                told = DEFAULT_CONTEXT_SIZE
            self._context = told
        return self._context

    def close(self) -> None:
        self._client.close()

    # -- generation ---------------------------------------------------------------------------------

    def _stream(self, messages: list[dict[str, str]], settings: GenerationSettings) -> Iterator[Union[str, Finish]]:
        body: dict[str, Any] = {
            "messages": messages,
            "stream": True,
            "max_tokens": settings.max_tokens,
            "temperature": settings.temperature,
        }
        if settings.stop:
            body["stop"] = list(settings.stop)
        return self._post_stream(body)

    def _post_stream(self, body: dict[str, Any]) -> Iterator[Union[str, Finish]]:
        if self._client.is_closed:
            raise GenerationError(f"{self.name} was closed")
        if self.model:
            body = {"model": self.model, **body}
        endpoint = f"{self.url}/chat/completions"
        yielded = False
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                with self._client.stream("POST", endpoint, json=body, headers={"Accept": "text/event-stream"}) as r:
                    if r.status_code >= 400:
                        r.read()
                        if r.status_code in RETRY_STATUSES and not last:
                            self._wait(attempt, f"HTTP {r.status_code}", r.headers.get("retry-after"))
                            continue
                        raise self._http_error(r, attempt + 1)
                    for piece in self._pieces(r):
                        yielded = yielded or isinstance(piece, str)
                        yield piece
                    return
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if last:
                    raise ServerUnreachableError(
                        f"cannot reach the model server at {self.url} ({exc or type(exc).__name__}) after "
                        f"{attempt + 1} attempt(s): is it running, and is the URL right?"
                    ) from None
                self._wait(attempt, type(exc).__name__)
            except httpx.TimeoutException:
                after = "in the middle of its reply" if yielded else "before its first token"
                raise GenerationTimeoutError(
                    f"{self.name} sent nothing for {self.read_timeout:g} s {after} (read timeout); a slow model "
                    "may need a longer read_timeout"
                ) from None
            except httpx.TransportError as exc:  # the connection broke: closed, reset, malformed
                if yielded:
                    raise GenerationError(
                        f"the connection to {self.url} broke in the middle of the reply ({exc}); "
                        "the reply is incomplete"
                    ) from None
                if last:
                    raise ServerUnreachableError(
                        f"the model server at {self.url} closed the connection ({exc}) after {attempt + 1} attempt(s)"
                    ) from None
                self._wait(attempt, type(exc).__name__)

    def _wait(self, attempt: int, why: str, retry_after: str | None = None) -> None:
        delay = self.backoff * 2**attempt * random.uniform(0.8, 1.2)
        if retry_after:
            try:
                delay = min(max(float(retry_after), 0.0), MAX_RETRY_AFTER)
            except ValueError:  # an HTTP date: keep our own backoff
                pass
        log.info("%s: %s, retrying in %.1f s", self.url, why, delay)
        time.sleep(delay)

    def _pieces(self, response: httpx.Response) -> Iterator[Union[str, Finish]]:
        if "text/event-stream" not in response.headers.get("content-type", ""):
            yield from self._event(response.read().decode("utf-8", "replace"))  # a server that ignored stream=true
            return
        data: list[str] = []
        for line in response.iter_lines():
            if line:
                if not line.startswith(":"):  # ":" starts an SSE comment (keep-alive pings)
                    field, _, value = line.partition(":")
                    if field == "data":
                        data.append(value[1:] if value.startswith(" ") else value)
                continue
            if data:  # a blank line ends an event
                payload, data = "\n".join(data), []
                if payload.strip() == "[DONE]":
                    return
                yield from self._event(payload)
        if data and "\n".join(data).strip() != "[DONE]":
            yield from self._event("\n".join(data))

    def _event(self, payload: str) -> Iterator[Union[str, Finish]]:
        try:
            event = json.loads(payload)
        except ValueError:
            raise GenerationError(f"{self.url} sent an unreadable event: {_short(payload)!r}") from None
        if not isinstance(event, dict):
            return
        if "error" in event:
            raise _overflow(event, self.name) or GenerationError(
                f"{self.name} failed mid-reply: {_short(json.dumps(event['error']))}"
            )
        for choice in event.get("choices") or ():
            part = choice.get("delta") or choice.get("message") or {}
            text = part.get("content") if isinstance(part, dict) else None
            if text:
                yield text
            if choice.get("finish_reason"):
                yield Finish(str(choice["finish_reason"]))

    def _http_error(self, response: httpx.Response, attempts: int) -> GenerationError:
        status, detail = response.status_code, _detail(response)
        where = str(response.request.url)
        model = repr(self._model) if self._model else "(the server's default model)"
        if status in (401, 403):
            if self._sent_key:
                hint = f"set {' or '.join(KEY_VARIABLES)} to a key this server accepts"
            else:
                hint = f"it needs an API key: set {' or '.join(KEY_VARIABLES)}"
            return AuthenticationError(
                f"{where} refused the request for model {model} (HTTP {status}: {detail}); {hint}"
            )
        if status == 404:
            served = self._list_models()
            listed = f"; the server lists: {', '.join(served[:10])}" if served else ""
            return ModelNotFoundError(
                f"{where} answered HTTP 404 for model {model} ({detail}): check the URL (OpenAI-compatible servers "
                f"answer under /v1, e.g. http://127.0.0.1:11434/v1 for Ollama) and the model name{listed}"
            )
        try:
            overflow = _overflow(response.json(), self.name)
        except ValueError:
            overflow = None
        if overflow:
            return overflow
        if status in RETRY_STATUSES:
            return GenerationError(f"{where} answered HTTP {status} ({detail}) {attempts} time(s); try again later")
        return GenerationError(f"{where} answered HTTP {status} for model {model}: {detail}")

    # -- what the server can tell: models, context size, tokens -----------------------------------

    def _model_entries(self) -> list[dict[str, Any]] | None:
        """The entries under /models, or None when the server has no such listing (or could not be asked)."""
        try:
            response = self._client.get(f"{self.url}/models", timeout=min(self.read_timeout, 10.0))
            data = response.json().get("data") if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError, AttributeError):
            return None
        return [m for m in data if isinstance(m, dict) and m.get("id")] if isinstance(data, list) else None

    def _list_models(self) -> list[str] | None:
        entries = self._model_entries()
        return None if entries is None else [str(m["id"]) for m in entries]

    def _resolve_model(self) -> None:
        served = self._list_models()
        if served is None:
            return  # asked again next time; meanwhile requests go without a model name
        self._model_known = True
        if len(served) == 1:
            self._model = served[0]
        elif len(served) > 1:
            self._model_known = False
            raise ConfigError(
                f"{self.url} serves {len(served)} models; name one with --llm-model (or QA_LLM_MODEL): "
                + ", ".join(served[:20])
            )

    def _server_context(self) -> int | None:
        props = self._optional("GET", "/props")
        if isinstance(props, dict):
            n_ctx = (props.get("default_generation_settings") or {}).get("n_ctx")
            if isinstance(n_ctx, int) and n_ctx > 0:
                return n_ctx
        for entry in self._model_entries() or ():
            if not self._model or entry["id"] == self._model:
                if isinstance(entry.get("max_model_len"), int):  # vLLM
                    return entry["max_model_len"]
        return None

    def _count_text(self, text: str) -> int:
        tokens = self._optional("POST", "/tokenize", {"content": text, "add_special": False, "parse_special": True})
        return len(tokens["tokens"]) if _has_tokens(tokens) else estimate_tokens(text)

    def _count_messages(self, messages: list[dict[str, str]]) -> int:
        rendered = self._optional("POST", "/apply-template", {"messages": messages})
        if isinstance(rendered, dict) and isinstance(rendered.get("prompt"), str):
            body = {"content": rendered["prompt"], "add_special": True, "parse_special": True}
            tokens = self._optional("POST", "/tokenize", body)
            if _has_tokens(tokens):
                return len(tokens["tokens"])
        return estimate_message_tokens(messages)

    def _optional(self, method: str, route: str, body: dict[str, Any] | None = None) -> Any:
        """The JSON of a llama.cpp extra route at the server root, or None when this server has no such route."""
        if self._endpoints.get(route) is False:
            return None
        try:
            response = self._client.request(method, self._root + route, json=body, timeout=min(self.read_timeout, 30.0))
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ServerUnreachableError(f"cannot reach the model server at {self.url} ({exc})") from None
        except httpx.HTTPError as exc:
            raise GenerationError(f"{self.url}{route} failed: {exc}") from None
        if response.status_code in (401, 403):
            raise self._http_error(response, 1)
        if response.status_code in _UNSUPPORTED:
            self._endpoints[route] = False
            return None
        try:
            response.raise_for_status()
            value = response.json()
        except (httpx.HTTPError, ValueError):
            return None
        self._endpoints[route] = True
        return value


def _has_tokens(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("tokens"), list)
