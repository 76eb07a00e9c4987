"""The app's state: one index and its answerer, shared by concurrent requests and replaced whole after a write.

Asks never take a lock. Each ask reads the current `State` once and finishes on it, however many writes
land meanwhile. A write (an in-app ingest, or another process's `qa ingest` / `qa watch`, noticed by a
poller) builds the next State beside the current one and then swaps one reference, so asks go on at full
speed during the ingest and the rebuild. An old State is freed when its last ask ends.
"""

from __future__ import annotations

import logging
import threading
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Protocol, Sequence, runtime_checkable

from qa import config
from qa.answerers import AnswererProtocol, check_question, open_answerer
from qa.app.adding import WAITING, ingest_in_child, ingest_waiting
from qa.conversation import Turn
from qa.encoders import Encoder
from qa.errors import QAError, StoreError
from qa.ingest import IngestReport
from qa.ingest import remove as remove_articles
from qa.retrieval import Retriever
from qa.stores import IndexReader, open_index
from qa.types import Answer, Article

log = logging.getLogger(__name__)

NO_INDEX = "No articles are indexed yet: add some in the “Add articles” panel below, then ask again."
EMPTY_STATS = "**0 articles** indexed"
REFRESH_EVERY = 1.0  # seconds between checks for another process's commit
WRITER_WAIT = 900.0  # seconds an in-app ingest waits for another writer before giving up
IN_CHILD_ABOVE = 20_000  # characters of article text above which an add runs in a low-priority child process


@runtime_checkable
class Warmable(Protocol):
    """An answerer that can do its per-index work ahead of the first question (the quoted one encodes every sentence)."""

    def warm(self) -> object: ...


@dataclass(frozen=True)
class State:
    """One committed state of the index with its answerer (of the default style); never changed, only replaced."""

    answerer: AnswererProtocol
    version: int
    articles: int
    chunks: int

    @property
    def reader(self) -> IndexReader:
        """The snapshot this State answers from (its retriever never moves on by itself)."""
        return self.answerer.retriever.reader

    @property
    def stats(self) -> str:
        """The article count as the UI shows it (markdown)."""
        n, c = self.articles, self.chunks
        return f"**{n} article{'' if n == 1 else 's'}**, {c} passage{'' if c == 1 else 's'} indexed"


class Service:
    """The app's state over one index directory: thread-safe, with no lock around asking.

    `encoder` defaults to the model named in the index's manifest; it is loaded once and kept across
    states. `refresh_every` seconds (0: never) a daemon thread checks for a commit by another process.
    An add of more than `in_child_above` characters runs in a child process at a lower CPU priority
    (`qa.app.adding`), so that the asks keep their latency; a small one runs here, without the start-up cost.
    """

    def __init__(
        self,
        index_dir: str | Path,
        *,
        encoder: Encoder | None = None,
        warm: bool = True,
        refresh_every: float = REFRESH_EVERY,
        writer_wait: float = WRITER_WAIT,
        in_child_above: int = IN_CHILD_ABOVE,
    ) -> None:
        self.index_dir = Path(index_dir)
        self._encoder = encoder
        self._own_encoder = encoder is not None  # a child process could not load it: adds stay in this process
        self._in_child_above = in_child_above
        self._warm = warm
        self._writer_wait = writer_wait
        self._state: State | None = None
        self._swap = threading.Lock()  # one State built at a time; asks never take it
        self._writing = threading.Lock()  # in-app ingests take turns (the store has one writer)
        self._stop = threading.Event()
        self._last_error = ""
        if refresh_every > 0:
            poller = threading.Thread(
                target=_poll, args=(weakref.ref(self), refresh_every, self._stop), name="qa-refresh", daemon=True
            )
            poller.start()

    # -- reading -------------------------------------------------------------------------
    def state(self) -> State:
        """The current State (loaded on first use); a QAError with a plain message when there is no index yet."""
        state = self._state
        if state is not None:
            return state
        with self._swap:
            if self._state is None:
                if not open_index(self.index_dir).exists():
                    raise QAError(NO_INDEX)
                self._install(self._build(), first=True)
            return self._state  # type: ignore[return-value]

    def answerer(self) -> AnswererProtocol:
        """The current answerer: a request that holds it keeps its snapshot of the index to the end."""
        return self.state().answerer

    def ask(self, question: str, turns: list[Turn] | None = None, **settings: Any) -> Answer:
        """Answer on the current State; concurrent asks run at once."""
        question = check_question(question)
        return self.answerer().ask(question, turns or [], **settings)

    def stats(self) -> str:
        """The article count of the current State as markdown (no index: zero)."""
        state = self._state
        if state is None:
            try:
                state = self.state()
            except QAError as exc:
                return EMPTY_STATS if str(exc) == NO_INDEX else f"The index could not be loaded: {exc}"
        return state.stats

    def refresh(self) -> bool:
        """Switch to the index's newest committed state if a write landed since; True if it did.

        Cheap when nothing changed (one catalog read). The new State is built while asks go on, then swapped in.
        """
        state = self._state
        if state is None:
            if not open_index(self.index_dir).exists():
                return False
        elif state.reader.reopen() is None:
            return False
        with self._swap:
            current = self._state
            fresh_reader = None
            if current is not None:
                fresh_reader = current.reader.reopen()
                if fresh_reader is None:
                    return False  # another thread switched meanwhile
            fresh = self._build(fresh_reader)
            self._install(fresh, first=current is None)
        log.info("index %s: %s version %d (%s)", self.index_dir, "loaded" if current is None else "switched to", fresh.version, fresh.stats)
        return True

    # -- writing -------------------------------------------------------------------------
    def add(
        self, items: Iterable[Any], on_article: Callable[[int], None] | None = None, on_status: Callable[[str], None] | None = None
    ) -> str:
        """Ingest articles (or failures) into the index, then switch to the new state; returns the summary."""
        report = self.add_items(items, on_article, on_status)
        return "\n".join([report.summary()] + [f"failed: {f}" for f in report.failures])

    def add_items(
        self, items: Iterable[Any], on_article: Callable[[int], None] | None = None, on_status: Callable[[str], None] | None = None
    ) -> IngestReport:
        """`add`, returning the ingest's report (what was added, replaced, unchanged, and what failed and why).

        Asks go on meanwhile on the state before. Another writer (a `qa ingest` in another process, or
        another add here) is waited for, with `on_status` told so.
        """
        items = list(items)
        status = on_status or (lambda message: None)
        with self._turn(status):
            size = sum(len(item.text) for item in items if isinstance(item, Article))
            if size > self._in_child_above and not self._own_encoder:
                report = ingest_in_child(items, self.index_dir, on_article, status, self._writer_wait)
            else:
                report = ingest_waiting(items, self.index_dir, self._encoder, on_article, status, self._writer_wait)
            status("loading the new articles…")
            self._refresh_after_write()
        return report

    def remove(self, ids_or_urls: Sequence[str]) -> list[str]:
        """Remove articles by id or URL, then switch to the new state; returns the ids or URLs not found."""
        with self._turn(lambda message: None):
            if not open_index(self.index_dir).exists():
                return list(ids_or_urls)
            missing = remove_articles(ids_or_urls, self.index_dir)
            self._refresh_after_write()
        return missing

    @contextmanager
    def _turn(self, status: Callable[[str], None]) -> Iterator[None]:
        """This process's turn to write (in-app writes take turns; the store has one writer)."""
        if not self._writing.acquire(blocking=False):
            status(WAITING)
            if not self._writing.acquire(timeout=self._writer_wait):
                raise StoreError(f"another add to the index in {self.index_dir} is still running; try again when it ends")
        try:
            yield
        finally:
            self._writing.release()

    def _refresh_after_write(self) -> None:
        try:
            self.refresh()
        except Exception as exc:  # the write is stored; the poller switches to it on its next round
            log.warning("index %s: the new state did not load yet (%s); retrying in the background", self.index_dir, exc)

    def close(self) -> None:
        """Stop the refresh thread; asks in flight finish."""
        self._stop.set()

    # -- internals -----------------------------------------------------------------------
    def _build(self, reader: IndexReader | None = None) -> State:
        """A new State over the newest commit, or over `reader` (the model stays loaded from one State to the next).

        Its retriever is pinned to that snapshot (no auto-refresh): an ask sees one state from search to citation.
        """
        if reader is None:
            retriever = Retriever.load(self.index_dir, encoder=self._encoder, auto_refresh=False)
        else:
            retriever = Retriever(reader, self._encoder, auto_refresh=False)  # type: ignore[arg-type]
        if self._encoder is None:
            self._encoder = retriever.encoder  # before the answerer wraps it
        stats = retriever.stats()
        answerer = open_answerer(retriever, config.STYLE)
        return State(answerer, retriever.version, int(stats.get("articles", 0)), int(stats.get("chunks", 0)))  # type: ignore[arg-type]

    def _install(self, state: State, *, first: bool) -> None:
        """Make `state` current (one reference: asks that started before keep theirs); warm the first one.

        Later States are not warmed: that walks every article again (seconds of CPU taken from the asks)
        to find the few new sentences, which the asks encode on demand anyway. They load the cache file
        the first warming wrote.
        """
        self._state = state
        if self._warm and first:
            threading.Thread(target=_warm, args=(state.answerer,), name="qa-warm", daemon=True).start()


def _warm(answerer: AnswererProtocol) -> None:
    """Do the answerer's per-index work ahead of questions (the quoted one: every sentence encoded, kept in a cache
    file beside the index)."""
    if not isinstance(answerer, Warmable):
        return
    try:
        answerer.warm()
    except Exception as exc:  # a cold cache only makes answers slower
        log.warning("warming the sentence cache stopped: %s", exc)


def _poll(ref: weakref.ref[Service], every: float, stop: threading.Event) -> None:
    """The refresh thread: holds only a weak reference, so a Service nobody uses is freed and the thread ends."""
    while not stop.wait(every):
        service = ref()
        if service is None:
            return
        try:
            service.refresh()
            service._last_error = ""
        except Exception as exc:  # keep serving the State we have; say so once per distinct failure
            message = f"{exc.__class__.__name__}: {exc}"
            if message != service._last_error:
                log.warning("index %s: cannot load its newest state (%s); still answering from the one before", service.index_dir, message)
            service._last_error = message
        del service
