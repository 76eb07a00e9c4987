"""Helpers for the serving tests: a feed server on 127.0.0.1 whose content and delay change, and `qa` subprocesses."""

from __future__ import annotations

import html
import http.server
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Sequence

ROOT = Path(__file__).resolve().parent.parent


class FeedServer:
    """A thread-run HTTP server on 127.0.0.1: `feeds[path] = [(title, text), ...]` serves an RSS feed there.

    `hold(path)` makes requests for that path wait until `release()`; `requested` is set when one arrives.
    """

    def __init__(self) -> None:
        self.feeds: dict[str, list[tuple[str, str]]] = {}
        self.requested = threading.Event()
        self._held: set[str] = set()
        self._gate = threading.Event()
        self._gate.set()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                if self.path in owner._held:
                    owner.requested.set()
                    owner._gate.wait(60)
                items = owner.feeds.get(self.path)
                if items is None:
                    self.send_error(404)
                    return
                body = rss(items, f"http://127.0.0.1:{owner.port}").encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/rss+xml")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # the reader was stopped meanwhile
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def hold(self, path: str) -> None:
        self.requested.clear()
        self._held.add(path)
        self._gate.clear()

    def release(self) -> None:
        self._held.clear()
        self._gate.set()

    def close(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()


def rss(items: Sequence[tuple[str, str]], base: str) -> str:
    """An RSS 2.0 feed whose items carry their full text (so no page is fetched)."""
    entries = "".join(
        f"<item><title>{html.escape(title)}</title><link>{base}/story/{n}</link><guid>{base}/story/{n}</guid>"
        f"<pubDate>Mon, 06 Jan 2025 09:00:00 GMT</pubDate><description>{html.escape(text)}</description></item>"
        for n, (title, text) in enumerate(items)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Test Wire</title><link>{base}/</link>{entries}</channel></rss>'


def free_port() -> int:
    """A TCP port free on 127.0.0.1 just now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def qa_process(*args: str, **kwargs: object) -> subprocess.Popen[str]:
    """`python -m qa.cli ARGS` from this checkout, output captured as text."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "qa.cli", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=ROOT, **kwargs)  # type: ignore[call-overload]


class Lines:
    """Reads a pipe on a thread so a test can wait for a line without blocking the process."""

    def __init__(self, pipe: object) -> None:
        self.lines: list[str] = []
        self._new = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self._thread.start()

    def _read(self, pipe: object) -> None:
        for line in pipe:  # type: ignore[attr-defined]
            with self._new:
                self.lines.append(line.rstrip("\n"))
                self._new.notify_all()

    def wait_for(self, needle: str, timeout: float = 60.0, start: int = 0) -> tuple[int, str]:
        """The (position, line) of the first line from `start` on that contains `needle`; AssertionError on timeout."""
        def found() -> tuple[int, str] | None:
            return next(((i, line) for i, line in enumerate(self.lines) if i >= start and needle in line), None)

        with self._new:
            if not self._new.wait_for(lambda: found() is not None, timeout):
                raise AssertionError(f"no line with {needle!r} within {timeout} s; got {self.lines}")
            return found()  # type: ignore[return-value]

    def text(self) -> str:
        self._thread.join(timeout=10)
        return "\n".join(self.lines)
