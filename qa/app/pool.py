"""The bounded pool of threads that answer the JSON API's questions, so the event loop that serves every request
(the UI, the queue, the API) never runs an answer itself and stays responsive however many questions wait."""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, AsyncIterator, Callable, Iterator, TypeVar

from qa import config

log = logging.getLogger(__name__)
T = TypeVar("T")
_END = object()


class Busy(Exception):
    """More questions wait than the pool takes (`API_WAITING`): the request is refused at once, not queued."""


class AnswerPool:
    """`workers` threads for answering; at most `waiting` calls queued for them (beyond that `Busy`)."""

    def __init__(self, workers: int = config.API_WORKERS, waiting: int = config.API_WAITING) -> None:
        if workers < 1:
            raise ValueError(f"an answer pool needs at least 1 thread, got {workers}")
        self.workers, self.waiting = workers, waiting
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="qa-answer")
        self._lock = threading.Lock()
        self._pending = 0  # calls submitted and not finished (running or waiting)

    @property
    def pending(self) -> int:
        return self._pending

    def _enter(self) -> None:
        with self._lock:
            if self._pending >= self.workers + self.waiting:
                raise Busy(f"the server is busy: {self._pending} questions are being answered or wait; try again shortly")
            self._pending += 1

    def _leave(self, *_: Any) -> None:
        with self._lock:
            self._pending -= 1

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`fn(*args, **kwargs)` on a pool thread, awaited; `Busy` when the queue is full."""
        self._enter()
        future = self._executor.submit(fn, *args, **kwargs)
        future.add_done_callback(self._leave)
        return await asyncio.wrap_future(future)

    async def stream(self, events: Callable[[], Iterator[T]]) -> AsyncIterator[T]:
        """The items of the iterator `events()` makes, produced on a pool thread and handed over as they come.

        When the consumer stops early (a client that went away), the thread stops at the next item.
        """
        self._enter()
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stopped = threading.Event()

        def produce() -> None:
            try:
                for item in events():
                    if stopped.is_set():
                        return
                    loop.call_soon_threadsafe(queue.put_nowait, item)
                loop.call_soon_threadsafe(queue.put_nowait, _END)
            except BaseException as exc:  # handed to the consumer, who raises it there
                loop.call_soon_threadsafe(queue.put_nowait, exc)

        future = self._executor.submit(produce)
        future.add_done_callback(self._leave)
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stopped.set()

    def close(self) -> None:
        """Stop taking calls; those running finish."""
        self._executor.shutdown(wait=False, cancel_futures=True)
