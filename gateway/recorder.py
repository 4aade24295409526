"""The single entry for records: twin update, in-process listeners, then the durable outbox."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from gateway.foundation.model import Record
from gateway.outbox import Outbox, RecordRefused
from gateway.payloads import to_message
from gateway.topics import Topics
from gateway.twins import DeviceTwins

__all__ = ["OutboxRecorder"]


class OutboxRecorder:
    def __init__(self, outbox: Outbox, topics: Topics, twins: DeviceTwins | None = None) -> None:
        self._outbox = outbox
        self._topics = topics
        self.twins = twins or DeviceTwins()
        self._listeners: list[Callable[[Record], None]] = []

    def subscribe(self, listener: Callable[[Record], None]) -> None:
        """In-process consumers (site controller, metrics) see each record as it is made."""
        self._listeners.append(listener)

    def record(self, record: Record) -> asyncio.Future[None]:
        """Accept a record; the future resolves when it is durable (await it for transactions)."""
        message = to_message(record, self._topics)
        future = self._outbox.put(
            message.topic, message.body, retain=message.retain, droppable=message.droppable
        )
        if future.done() and _unusable(future):
            return future  # NaN, a lone surrogate, a bad topic: not for twins or listeners
        self.twins.update(record)
        for listener in self._listeners:
            listener(record)
        return future


def _unusable(future: asyncio.Future[None]) -> bool:
    error = None if future.cancelled() else future.exception()
    return isinstance(error, RecordRefused) and error.invalid
