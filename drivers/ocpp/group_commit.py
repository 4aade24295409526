"""Durable writes that arrive while one is being committed share the next commit.

A reconnect storm starts thousands of transactions at once, each awaited until it is on
disk before the charger gets its answer; one commit (and fsync) each, one after another,
made the storm's settle time the sum of thousands of fsyncs. Here each caller still returns
only once its rows are committed, in the order they were handed in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

__all__ = ["GroupCommit"]

T = TypeVar("T")


class GroupCommit(Generic[T]):
    def __init__(self, write: Callable[[list[T]], Awaitable[None]]) -> None:
        self._write = write
        self._waiting: list[tuple[list[T], asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def add(self, items: list[T]) -> None:
        """Return once `items` (with whatever else was waiting) are committed."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((items, done))
        if self._writer is None:
            self._writer = asyncio.create_task(self._drain(), name="group-commit")
            self._writer.add_done_callback(self._drained)
        await done

    async def settled(self) -> None:
        """Return once nothing is waiting or being written (before the database is closed:
        a commit still queued behind the close failed, and its rows were lost)."""
        while self._writer is not None:
            await asyncio.wait({self._writer})

    def _drained(self, writer: asyncio.Task[None]) -> None:
        """A writer cancelled (the loop is stopping) leaves no caller waiting for ever."""
        if not writer.cancelled():
            return
        if self._writer is writer:
            self._writer = None
        for _, done in self._waiting:
            done.cancel()
        self._waiting = []

    async def _drain(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                await self._write([item for items, _ in batch for item in items])
            except Exception as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            except BaseException:  # cancelled (the loop is stopping): so are its callers
                for _, done in batch:
                    done.cancel()
                raise
            else:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)
        self._writer = None  # with no await since the last check: a later add starts one
