"""Adding articles from the app: pasted text as an article, waiting for another writer, and big adds in a
low-priority child process.

A big ingest in the server's own process would take CPU time and Python's GIL from the asks. In a child
process at a lower CPU priority (`nice`), it gets what the asks leave, and the asks keep their latency.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing as mp
import os
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Sequence

from qa.encoders import Encoder
from qa.errors import QAError, SourceError, StoreError
from qa.ingest import IngestReport, ingest
from qa.reading.limits import max_article_bytes, too_big
from qa.reading.sources import Article, Item, article_from_text

log = logging.getLogger(__name__)

WAITING = "waiting for another writer to finish…"
CHILD_NICE = 10  # the child's CPU priority below the server's (CFS weight about 1/10 when both want a core)

Progress = Callable[[int], None]
Status = Callable[[str], None]
CLUTTER_ONLY = "the pasted text is only page clutter (menus, ads, headline lists)"


def pasted_article(title: str, text: str) -> Article:
    """Pasted text (a copied web page is cleaned like a scraped file) as an article: its id a hash of the text, its
    title the one given, else the one found in the text, else its first line. A SourceError says why not (too big,
    only clutter)."""
    size = len(text.encode("utf-8", "replace"))
    if size > max_article_bytes():
        raise too_big("pasted text", size, max_article_bytes())
    try:
        pasted = article_from_text("pasted text", text, key=text)
    except SourceError:
        raise SourceError("pasted text", CLUTTER_ONLY) from None
    digest = hashlib.sha1(pasted.text.encode()).hexdigest()[:12]
    name = (title or "").strip() or pasted.title or pasted.text.split("\n")[0][:80]
    return replace(pasted, id=f"pasted-{digest}", title=name, source="pasted text")


def ingest_waiting(
    items: Sequence[Item], index_dir: Path, encoder: Encoder | None, on_article: Progress | None, on_status: Status, wait: float
) -> IngestReport:
    """`ingest`, waiting up to `wait` seconds while another process holds the index's write lock.

    The store's own messages on this thread (e.g. that it waits for the lock) go to `on_status` too.
    """
    deadline = time.monotonic() + wait
    while True:
        try:
            with _StoreMessages(on_status):
                return ingest(items, index_dir, encoder=encoder, on_article=on_article)
        except StoreError as exc:
            if not _another_writer(exc) or time.monotonic() > deadline:
                raise
            on_status(WAITING)
            time.sleep(0.5)


def ingest_in_child(
    items: Sequence[Item], index_dir: Path, on_article: Progress | None, on_status: Status, wait: float
) -> IngestReport:
    """`ingest_waiting` in a fresh child process at a lower CPU priority; progress comes back over a pipe.

    The child loads the index's own model. Errors come back as the QAError kind they were, with their message.
    """
    ctx = mp.get_context("spawn")  # never fork a process that runs threads
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(list(items), str(index_dir), send, wait), name="qa-ingest", daemon=True)
    on_status("starting the indexer…")
    child.start()
    send.close()
    try:
        while True:
            try:
                kind, payload = receive.recv()
            except EOFError:
                child.join(10)
                raise StoreError(f"the indexing process stopped (exit code {child.exitcode}) before it finished; "
                                 "nothing it had not committed was kept") from None
            if kind == "article" and on_article is not None:
                on_article(payload)
            elif kind == "status":
                on_status(payload)
            elif kind == "done":
                return payload  # type: ignore[no-any-return]
            elif kind == "error":
                error, message = payload
                raise {"StoreError": StoreError}.get(error, QAError)(message)
    finally:
        receive.close()
        child.join(30)
        if child.is_alive():
            child.kill()


def _child(items: list[Item], index_dir: str, send: Any, wait: float) -> None:
    """The child process: lower priority, ingest, send ('article', n) / ('status', text) / ('done', report) or ('error', ...)."""
    try:
        os.nice(CHILD_NICE)
    except OSError:  # not allowed here: run at the same priority
        pass
    logging.getLogger("qa").setLevel(logging.INFO)  # the store's messages reach the handler that forwards them
    lock = threading.Lock()  # ingest reports progress from its encoding thread too

    def put(kind: str, payload: object) -> None:
        with lock:
            send.send((kind, payload))

    try:
        report = ingest_waiting(items, Path(index_dir), None, lambda n: put("article", n), lambda s: put("status", s), wait)
    except QAError as exc:
        put("error", (type(exc).__name__, str(exc)))
    except Exception as exc:  # noqa: BLE001 - reported to the app, which shows it without a traceback
        logging.getLogger(__name__).exception("indexing failed")
        put("error", ("Exception", f"{exc.__class__.__name__}: {exc}"))
    else:
        put("done", report)
    finally:
        send.close()


def _another_writer(exc: StoreError) -> bool:
    """Whether the store refused because another process holds the write lock (a store that waits never raises this)."""
    return "another process is writing" in str(exc)


class _StoreMessages:
    """While an ingest runs on this thread, the store's log messages (INFO and up) also go to `status`."""

    def __init__(self, status: Status) -> None:
        self._handler = _ThreadHandler(status)

    def __enter__(self) -> None:
        logging.getLogger("qa").addHandler(self._handler)

    def __exit__(self, *_: object) -> None:
        logging.getLogger("qa").removeHandler(self._handler)


class _ThreadHandler(logging.Handler):
    def __init__(self, status: Status) -> None:
        super().__init__(logging.INFO)
        self._status, self._thread = status, threading.get_ident()

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self._thread and record.name.startswith(("qa.store", "qa.stores")):
            try:
                self._status(record.getMessage())
            except Exception:  # noqa: BLE001 - a progress display must never break the ingest
                pass
