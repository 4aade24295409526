"""The one door through which a driver hands over a record: twins, listeners, durable outbox.

The application implements it (`gateway.recorder.OutboxRecorder`); drivers see only this protocol.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from gateway.foundation.model import Record

__all__ = ["OutboxUnavailable", "RecordRefused", "RecordSink"]


class RecordSink(Protocol):
    def record(self, record: Record) -> asyncio.Future[None]:
        """Accept a record; the future resolves when it is durable (await it for transactions).

        It fails with RecordRefused (the record is unusable, or the outbox is full of records
        that are never dropped) or OutboxUnavailable (the disk could not store it within
        `mqtt.outbox.durable_timeout_s`; it was withdrawn). Either way the record will not be
        delivered: a handler answers its device with an error so that the device retries.
        """
        ...


class RecordRefused(ValueError):
    """The outbox did not accept this record (not strict JSON, bad topic, too large, full).

    `invalid`: the record itself is unusable (not strict JSON, bad topic, too large), as
    opposed to a full outbox; an unusable record must not reach anyone else either.
    """

    def __init__(self, message: str, *, invalid: bool = True) -> None:
        super().__init__(message)
        self.invalid = invalid


class OutboxUnavailable(RuntimeError):
    """The record could not be made durable in time (the disk fails); the producer should
    make its device retry later. The record was withdrawn: it will not be delivered."""
