"""Outgoing messages in order, kept across connection losses when they belong to a transaction.

Real chargers store Start/Stop/transaction MeterValues (1.6 §4.10 "Transaction-related
messages") and TransactionEvents (2.0.1 E04) while offline and deliver them in order later.
Status notifications are volatile: dropped on disconnect and re-sent after reconnect.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["QueuedMessage", "TxQueue"]


@dataclass(eq=False)
class QueuedMessage:
    """One queued CALL; the payload is built when it is sent, so a 1.6 transaction id that
    arrives later (StartTransaction.conf) is filled in by then."""

    action: str
    build: Callable[[], dict[str, Any]]
    transactional: bool = True
    droppable: bool = False  # periodic meter values may go first when the queue is full
    on_response: Callable[[dict[str, Any]], None] | None = None
    attempts: int = 0
    delivered: asyncio.Future[dict[str, Any] | None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class TxQueue:
    def __init__(self, limit: int = 10_000) -> None:
        self.limit = limit
        self._items: deque[QueuedMessage] = deque()
        self._nonempty = asyncio.Event()
        self._empty = asyncio.Event()
        self._empty.set()
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Any:
        return iter(list(self._items))

    def put(self, message: QueuedMessage) -> None:
        if len(self._items) >= self.limit:
            for item in self._items:
                if item.droppable:
                    self._items.remove(item)
                    self._finish(item, None)
                    self.dropped += 1
                    break
        self._items.append(message)
        self._nonempty.set()
        self._empty.clear()

    async def head(self) -> QueuedMessage:
        while not self._items:
            self._nonempty.clear()
            await self._nonempty.wait()
        return self._items[0]

    def done(self, message: QueuedMessage, response: dict[str, Any] | None) -> None:
        """Remove a delivered (or given up) message from the head."""
        if self._items and self._items[0] is message:
            self._items.popleft()
        self._finish(message, response)
        self._check_empty()

    async def wait_empty(self) -> None:
        await self._empty.wait()

    def _check_empty(self) -> None:
        if not self._items:
            self._empty.set()

    def drop_volatile(self) -> None:
        """On disconnect: forget what is not worth delivering late."""
        for item in [i for i in self._items if not i.transactional]:
            self._items.remove(item)
            self._finish(item, None)
        self._check_empty()

    @staticmethod
    def _finish(message: QueuedMessage, response: dict[str, Any] | None) -> None:
        if not message.delivered.done():
            message.delivered.set_result(response)
