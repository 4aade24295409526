"""The outbox's database thread: where what waits for the disk runs (syncs, reads, open, close).

A worker of its own rather than a `ThreadPoolExecutor`, because every time a thread takes the
interpreter's lock while the event loop is busy, the loop pays for it: each of its system
calls (a socket send, a receive) then wakes the waiting thread, a futex call and a thread
switch apiece, until the lock changes hands. An executor's worker takes the lock back more
often per job than the job needs (its queue, its future's condition, its idle semaphore);
this worker takes it once when woken and once per blocking call its job makes, and reports
to the loop with one `call_soon_threadsafe`. Jobs run one at a time, in the order submitted.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["OutboxThread"]

T = TypeVar("T")

_Job = tuple[Callable[..., Any], tuple[Any, ...], "asyncio.Future[Any]"]


class OutboxThread:
    """`await run(fn, *args)` runs `fn(*args)` on the thread and returns or raises its outcome."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._jobs: deque[_Job] = deque()
        self._wakeup = threading.Lock()
        """Released to wake the worker; held while it has nothing to do (a binary semaphore
        a plain lock makes: a release while already released is a wake-up already due)."""
        self._wakeup.acquire()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        if self._thread is None:
            self._loop = loop
            self._thread = threading.Thread(target=self._work, name=self._name, daemon=True)
            self._thread.start()
        future: asyncio.Future[T] = loop.create_future()
        self._jobs.append((fn, args, future))
        self._wake()
        return await future

    async def stop(self) -> None:
        """Finish the jobs submitted, then end the thread (idempotent)."""
        if self._thread is not None:
            await self.run(_last)
            self._thread = None

    def _wake(self) -> None:
        # Only the loop's thread releases, so a held lock stays held until this release; a
        # lock already released is a wake-up already due (the worker finds the job then).
        if self._wakeup.locked():
            self._wakeup.release()

    def _work(self) -> None:
        jobs, settle = self._jobs, self._settle
        assert self._loop is not None
        call_soon = self._loop.call_soon_threadsafe
        while True:
            self._wakeup.acquire()
            while jobs:
                fn, args, future = jobs.popleft()
                if fn is _last:
                    call_soon(settle, future, None, None)
                    return
                try:
                    result = fn(*args)
                except BaseException as exc:  # handed to the awaiting task, as an executor does
                    call_soon(settle, future, None, exc)
                else:
                    call_soon(settle, future, result, None)

    @staticmethod
    def _settle(future: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
        if future.done():  # the awaiting task was cancelled; the job ran all the same
            return
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)


def _last() -> None:
    """The job `stop()` submits: the worker ends after it."""
