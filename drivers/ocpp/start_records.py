"""The `started` record of each transaction, never lost between the two writes of a start.

A start (1.6 StartTransaction, 2.x TransactionEvent Started) saves the transaction row and
records `started` at the same time. When the row is saved but the outbox cannot take the
record (a full or failing disk past `durable_timeout_s`), the charger is answered with an
error and sends the same start again: it must get the same transaction (the row exists), and
the `started` record must be made then, once. This table remembers, in memory, which
transactions have no durable `started` record yet, and which are being recorded now (a
resend arriving meanwhile waits for that one rather than recording a second).

A crash between the two writes leaves a row whose `started` never reached the outbox, and
nothing in memory: the row says so itself (`StoredTransaction.started_recorded`, False until
the outbox confirms), and the driver records those at start (`OcppDriver.start`). Confirmed
late or not at all, the flag errs towards a second `started`, never towards none.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from drivers.ocpp.core.transactions import StoredTransaction

__all__ = ["StartRecords"]

_Key = tuple[str, str]


def _key(tx: StoredTransaction) -> _Key:
    return (tx.charger_id, tx.transaction_id)


class StartRecords:
    def __init__(self, on_recorded: Callable[[StoredTransaction], None] | None = None) -> None:
        self._on_recorded = on_recorded
        """Told of each transaction whose `started` became durable (the store notes it)."""
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
                if self._on_recorded is not None:
                    self._on_recorded(tx)

        recorded.add_done_callback(settled)
        return recorded
