"""The model backends: SmolLM2 in this process, and the same GGUF behind a real llama.cpp server on loopback."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from llm_server import TEST_KEY

from qa.answerers.llm import (
    AuthenticationError,
    ContextOverflowError,
    GenerationTimeoutError,
    Generator,
    ModelFileError,
    ModelNotFoundError,
    ServerUnreachableError,
    load_generator,
    packaged_smollm2,
)
from qa.answerers.llm.http import OpenAICompatibleGenerator, base_url
from qa.answerers.llm.local import LocalGenerator
from qa.errors import ConfigError, GenerationError

KEY = TEST_KEY
COLOURS = [{"role": "user", "content": "Name three colours, one per line."}]
FACT = [
    {"role": "system", "content": "Answer from the passage only."},
    {"role": "user", "content": "Passage: The bridge over the Vltava opened in 1402.\nWhen did the bridge open?"},
]


@pytest.fixture(scope="session")
def local(smollm2: Path) -> Iterator[LocalGenerator]:
    # No prompt cache: every call reads its prompt the same way, so greedy replies repeat exactly.
    with LocalGenerator(smollm2, context_size=1024, max_tokens=24, cache_prompt=False) as generator:
        yield generator


@pytest.fixture
def remote(server: str) -> Iterator[OpenAICompatibleGenerator]:
    with OpenAICompatibleGenerator(server + "/v1", api_key=KEY, max_tokens=24) as generator:
        yield generator


@pytest.fixture(params=["local", "remote"])
def generator(request: pytest.FixtureRequest) -> Generator:
    """Each backend in turn, for the contract every Generator keeps."""
    return request.getfixturevalue(request.param)


def timed_pieces(stream: Iterator[str]) -> list[tuple[float, str]]:
    return [(time.monotonic(), piece) for piece in stream]


# -- the contract, for both backends ----------------------------------------------------------------


def test_streams_pieces_while_the_model_writes(generator: Generator) -> None:
    pieces = timed_pieces(generator.stream(COLOURS))
    assert len(pieces) >= 5
    text = "".join(p for _, p in pieces)
    assert text.strip() and text == generator.generate(COLOURS)
    # Pieces arrive one decoding step apart, not all at once at the end (a replay of a finished reply).
    assert pieces[-1][0] - pieces[0][0] > 0.01


def test_closing_the_stream_stops_it_and_the_model_serves_the_next_request(generator: Generator) -> None:
    stream = generator.stream(COLOURS, max_tokens=200)
    first = next(stream)
    stream.close()
    assert first and generator.generate(COLOURS).startswith(first)


def test_stop_sequence_ends_the_reply_before_it(generator: Generator) -> None:
    pieces = list(generator.stream(COLOURS))
    full = "".join(pieces)
    word = next(p for p in pieces[len(pieces) // 2 :] if p.strip())
    stopped = generator.generate(COLOURS, stop=[word])
    assert stopped == full[: full.index(word)]
    assert len(stopped) < len(full)


def test_max_tokens_bounds_the_reply_and_says_so(generator: Generator) -> None:
    reply = generator.stream(COLOURS, max_tokens=3)
    short = "".join(reply)
    assert reply.finish_reason == "length"
    assert 1 <= generator.count_tokens(short) <= 4  # re-tokenising a reply may merge or split one piece
    whole = generator.stream(COLOURS, max_tokens=200)
    assert "".join(whole).startswith(short) and whole.finish_reason == "stop"  # the model ended its turn


def test_token_counts_match_what_llama_cpp_reads(generator: Generator, server: str) -> None:
    auth = {"Authorization": f"Bearer {KEY}"}
    chat = httpx.post(f"{server}/v1/chat/completions", headers=auth, timeout=60,
                      json={"messages": FACT, "max_tokens": 1}).json()
    assert generator.count_tokens(FACT) == chat["usage"]["prompt_tokens"]
    text = FACT[1]["content"]
    completion = httpx.post(f"{server}/v1/completions", headers=auth, timeout=60,
                            json={"prompt": text, "max_tokens": 1}).json()
    assert generator.count_tokens(text) == completion["usage"]["prompt_tokens"]
    assert generator.count_tokens("") == 0


def test_context_overflow_says_how_many_tokens(generator: Generator) -> None:
    limit = generator.context_size
    with pytest.raises(ContextOverflowError) as caught:
        generator.generate([{"role": "user", "content": "word " * (limit + 500)}])
    assert caught.value.limit == limit and caught.value.tokens > limit
    assert f"the prompt is {caught.value.tokens} tokens, over the {limit}-token context of" in str(caught.value)


def test_generation_settings_are_checked_at_the_door(generator: Generator) -> None:
    with pytest.raises(ConfigError, match="max_tokens must be .* got 0"):
        generator.generate(COLOURS, max_tokens=0)
    with pytest.raises(ConfigError, match="temperature must be between 0 and 2, got 5"):
        generator.stream(COLOURS, temperature=5)
    with pytest.raises(ConfigError, match="message 0 has role 'bot'; valid roles: system, user, assistant"):
        generator.stream([{"role": "bot", "content": "hi"}])
    with pytest.raises(ConfigError, match="non-empty list"):
        generator.count_tokens([])


# -- the local backend ------------------------------------------------------------------------------


def test_two_users_at_once_both_get_their_whole_reply(local: LocalGenerator) -> None:
    alone = local.generate(COLOURS, max_tokens=8)
    replies: list[str] = []
    users = [threading.Thread(target=lambda: replies.append(local.generate(COLOURS, max_tokens=8))) for _ in range(2)]
    for user in users:
        user.start()
    for user in users:
        user.join(timeout=120)
    assert replies == [alone, alone]


def test_the_chat_template_comes_from_the_gguf(local: LocalGenerator) -> None:
    prompt = local.chat_prompt(FACT)
    assert prompt.startswith("<|im_start|>system\nAnswer from the passage only.<|im_end|>")
    assert prompt.endswith("<|im_start|>assistant\n")
    # SmolLM2's template adds its own system prompt when the messages have none.
    assert "You are a helpful AI assistant named SmolLM" in local.chat_prompt(COLOURS)


def test_missing_or_wrong_model_files_get_plain_messages(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="model file not found: .*nope.gguf"):
        LocalGenerator(tmp_path / "nope.gguf")
    (tmp_path / "page.gguf").write_text("<html>404</html>")
    with pytest.raises(ModelFileError, match="not a GGUF model file"):
        load_generator(str(tmp_path / "page.gguf"))
    with packaged_smollm2().open("rb") as f:
        (tmp_path / "cut.gguf").write_bytes(f.read(4096))
    with pytest.raises(ModelFileError, match="could not load .*cut.gguf"):
        LocalGenerator(tmp_path / "cut.gguf")


# -- choosing a backend ----------------------------------------------------------------------------


def test_load_generator_reads_the_spec_and_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("QA_LLM", "QA_LLM_MODEL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match=r"no language model given: .*PATH\.gguf.*http"):
        load_generator()
    with pytest.raises(ConfigError, match=r"'llama3.2' is not a model: give .*PATH\.gguf"):
        load_generator("llama3.2")
    with pytest.raises(ConfigError, match="only http:// and https://"):
        load_generator("ftp://example.org/model.gguf")
    with pytest.raises(ConfigError, match="unknown setting 'treads' .* valid: .*threads"):
        load_generator(str(tmp_path / "m.gguf"), treads=2)
    with pytest.raises(ConfigError, match="names a model on a server"):
        load_generator(str(tmp_path / "m.gguf"), model="llama3.2")
    monkeypatch.setenv("QA_LLM", str(tmp_path / "m.gguf"))
    with pytest.raises(ModelFileError, match="model file not found"):
        load_generator()
    monkeypatch.setenv("QA_LLM", "http://127.0.0.1:11434")
    monkeypatch.setenv("QA_LLM_MODEL", "llama3.2")
    generator = load_generator(read_timeout=5.0)
    assert isinstance(generator, OpenAICompatibleGenerator) and isinstance(generator, Generator)
    assert (generator.url, generator.model, generator.name) == (
        "http://127.0.0.1:11434/v1", "llama3.2", "llama3.2 at http://127.0.0.1:11434/v1")


def test_server_urls_normalise_to_the_api_base() -> None:
    assert base_url("http://127.0.0.1:8080") == "http://127.0.0.1:8080/v1"
    assert base_url("https://api.openai.com/v1/") == "https://api.openai.com/v1"
    assert base_url("http://h:1/v1/chat/completions") == "http://h:1/v1"
    with pytest.raises(ConfigError, match="not a valid server URL|looks like"):
        base_url("http://")


# -- the OpenAI-compatible backend against a real llama.cpp server -----------------------------------


def test_remote_asks_the_server_for_its_model_and_context(remote: OpenAICompatibleGenerator) -> None:
    assert remote.model.endswith("SmolLM2-135M-Instruct.Q4_1.gguf")  # the one model it lists under /v1/models
    assert remote.name == f"{remote.model} at {remote.url}"
    assert remote.context_size == 2048  # from llama.cpp's /props


def test_unknown_route_is_a_404_naming_the_model_and_url(server: str) -> None:
    generator = OpenAICompatibleGenerator(server + "/nope/v1", model="smollm2", api_key=KEY, retries=0)
    with pytest.raises(ModelNotFoundError) as caught:
        generator.generate(COLOURS)
    message = str(caught.value)
    assert "HTTP 404" in message and "'smollm2'" in message and f"{server}/nope/v1/chat/completions" in message


def test_wrong_or_missing_key_is_a_401(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(AuthenticationError, match=r"refused .*HTTP 401.*a key this server accepts"):
        OpenAICompatibleGenerator(server, api_key="wrong", model="smollm2").generate(COLOURS)
    for name in ("QA_LLM_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(AuthenticationError, match="it needs an API key: set QA_LLM_API_KEY"):
        OpenAICompatibleGenerator(server).generate(COLOURS)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)  # the fallback variable is read when QA_LLM_API_KEY is unset
    assert OpenAICompatibleGenerator(server, max_tokens=2).generate(COLOURS)


def test_a_slow_server_is_a_timeout(server: str) -> None:
    generator = OpenAICompatibleGenerator(server, api_key=KEY, read_timeout=0.001, retries=0)
    with pytest.raises(GenerationTimeoutError, match="sent nothing for 0.001 s before its first token"):
        generator.generate(FACT)


def test_an_unreachable_port_is_a_plain_error() -> None:
    with socket.socket() as sock:  # bound, never listening: connections to it are refused
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
        generator = OpenAICompatibleGenerator(url, model="m", retries=1, backoff=0.0)
        with pytest.raises(ServerUnreachableError, match=f"cannot reach the model server at {url} .*after 2 attempt"):
            generator.generate(COLOURS)


# -- retries, against a scripted loopback server -----------------------------------------------------


class Scripted(ThreadingHTTPServer):
    """A loopback HTTP server that answers each POST with the next scripted reply and counts them."""

    def __init__(self, replies: list[str]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.replies, self.requests = list(replies), 0
        self.thread = threading.Thread(target=self.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> Scripted:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


def sse(*texts: str) -> bytes:
    """An event stream as servers send it: a keep-alive comment, one event split over two data lines, [DONE]."""
    events = [json.dumps({"choices": [{"index": 0, "delta": {"content": t}}]}) for t in texts]
    events[0] = events[0].replace(", ", ",\ndata: ", 1)
    return b": ping\n\n" + b"".join(f"data: {e}\n\n".encode() for e in events) + b"data: [DONE]\n\n"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # no /models, /props or /tokenize: like a minimal OpenAI-compatible proxy
        self._send(404, b'{"error": "not here"}', "application/json")

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if not self.path.endswith("/chat/completions"):
            return self.do_GET()
        self.server.requests += 1
        reply = self.server.replies.pop(0)
        if reply == "503":
            self._send(503, b'{"error": {"message": "loading model"}}', "application/json")
        elif reply == "429":
            self._send(429, b'{"error": {"message": "slow down"}}', "application/json", {"Retry-After": "0"})
        elif reply == "ok":
            self._send(200, sse("The ", "bridge ", "opened ", "in 1402."), "text/event-stream")
        elif reply == "json":  # a server that ignores stream=true
            body = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "Opened in 1402."}}]}
            self._send(200, json.dumps(body).encode(), "application/json")
        elif reply == "break":  # one event, then the connection drops short of the promised length
            body = sse("The ")[: -len(b"data: [DONE]\n\n")]
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Content-Length", str(len(body) + 1000))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            time.sleep(0.2)  # the client reads the first event before the connection closes
            self.close_connection = True

    def _send(self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


def test_503_before_the_first_token_is_retried() -> None:
    with Scripted(["503", "503", "ok"]) as server:
        generator = OpenAICompatibleGenerator(server.url, model="m", api_key="", retries=2, backoff=0.01)
        assert generator.generate(COLOURS) == "The bridge opened in 1402."
        assert server.requests == 3


def test_sse_framing_and_a_server_that_ignores_stream() -> None:
    with Scripted(["ok", "json"]) as server:
        generator = OpenAICompatibleGenerator(server.url, model="m", api_key="")
        reply = generator.stream(COLOURS)
        assert list(reply) == ["The ", "bridge ", "opened ", "in 1402."] and reply.finish_reason == ""
        assert generator.generate(COLOURS) == "Opened in 1402."


def test_429_retries_run_out_into_a_plain_error() -> None:
    with Scripted(["429", "429"]) as server:
        generator = OpenAICompatibleGenerator(server.url, model="m", api_key="", retries=1, backoff=0.01)
        with pytest.raises(GenerationError, match=r"HTTP 429 \(slow down\) 2 time\(s\)"):
            generator.generate(COLOURS)
        assert server.requests == 2


def test_no_retry_once_text_was_yielded() -> None:
    with Scripted(["break", "ok"]) as server:
        generator = OpenAICompatibleGenerator(server.url, model="m", api_key="", retries=2, backoff=0.01)
        got = []
        with pytest.raises(GenerationError, match="broke in the middle of the reply"):
            for piece in generator.stream(COLOURS):
                got.append(piece)
        assert got == ["The "] and server.requests == 1


def test_a_server_without_tokenizer_or_props_gets_the_documented_estimates() -> None:
    with Scripted([]) as server:
        generator = OpenAICompatibleGenerator(server.url, model="m", api_key="")
        assert generator.context_size == 4096
        assert generator.count_tokens("abcdef") == 2  # 1 per 3 ASCII characters
        assert generator.count_tokens("日本語") == 3  # 1 per other character
        assert generator.count_tokens([{"role": "user", "content": "abcdef"}]) == 2 + 4 + 3
