"""The one door through which a driver hands over a record: twins, listeners, durable outbox.

The application implements it (`gateway.recorder.OutboxRecorder`); drivers see only this protocol.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from gateway.foundation.model import Record

__all__ = ["RecordSink"]


class RecordSink(Protocol):
    def record(self, record: Record) -> asyncio.Future[None]:
        """Accept a record; the future resolves when it is durable (await it for transactions)."""
        ...
