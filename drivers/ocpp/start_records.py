"""The `started` record of each 1.6 transaction, made durable exactly once.

A StartTransaction saves the transaction row and records `started` at the same time. When the
row is saved but the outbox cannot take the record (a full or failing disk past
`durable_timeout_s`), the charger is answered with an error and sends the same
StartTransaction again: it must get the same transactionId (the row exists), and the `started`
record must be made then, once. This table remembers, in memory, which transactions have no
durable `started` record yet, and which are being recorded now (a resend arriving meanwhile
waits for that one rather than recording a second).
"""

from __future__ import annotations

import asyncio

from drivers.ocpp.core.transactions import StoredTransaction

__all__ = ["StartRecords"]

_Key = tuple[str, str]


def _key(tx: StoredTransaction) -> _Key:
    return (tx.charger_id, tx.transaction_id)


class StartRecords:
    def __init__(self) -> None:
        self._missing: set[_Key] = set()
        """Saved transactions whose `started` record the outbox did not take."""
        self._running: dict[_Key, asyncio.Future[None]] = {}

    def missing(self, tx: StoredTransaction) -> bool:
        """Whether `tx` was saved without a durable `started` record."""
        return _key(tx) in self._missing

    def running(self, tx: StoredTransaction) -> asyncio.Future[None] | None:
        """The outbox's future for `tx`'s `started` record while it is not settled."""
        return self._running.get(_key(tx))

    def track(self, tx: StoredTransaction, recorded: asyncio.Future[None]) -> asyncio.Future[None]:
        """Follow `recorded` (the outbox's future for `tx`'s `started`) to its end, even when
        the handler awaiting it is gone (the charger hung up); returns it."""
        key = _key(tx)
        self._running[key] = recorded

        def settled(future: asyncio.Future[None]) -> None:
            if self._running.get(key) is future:
                del self._running[key]
            if future.cancelled() or future.exception() is not None:
                self._missing.add(key)
            else:
                self._missing.discard(key)

        recorded.add_done_callback(settled)
        return recorded
