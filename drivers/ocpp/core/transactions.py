"""Transaction bookkeeping rules: a charger's message + what is known -> what to publish.

Pure: the session looks the transaction up, calls these, then saves the row and records the
events. Rules (docs/ocpp.md "Transactions"):
- the meter at start is 1.6 `meterStart`, for 2.x the `Transaction.Begin` reading, else the
  first energy register seen in the transaction;
- a message about a transaction not seen before publishes `started` first (its start was
  lost), so consumers always see a started/ended pair;
- an ended transaction stays ended: a resent StopTransaction / `Ended` publishes nothing;
- the row is saved (durably, before the answer) whenever something billing-relevant changed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.foundation.model import TransactionEventKind
from gateway.foundation.model.fast_init import fast_init

__all__ = [
    "Outcome",
    "Reading",
    "StoredTransaction",
    "fold_v2_event",
    "fold_v16_stop",
    "note_export",
    "v16_start_key",
]


@dataclass(slots=True)
class StoredTransaction:
    """A transaction as the store keeps it (times in epoch seconds)."""

    charger_id: str
    transaction_id: str
    evse: int
    id_tag: str | None = None
    meter_start_wh: float | None = None
    meter_last_wh: float | None = None
    started_at: float | None = None
    stopped_at: float | None = None
    stop_reason: str | None = None
    ended: bool = False
    start_key: str | None = None
    """1.6: what identifies a StartTransaction resent for the same session."""
    export_start_wh: float | None = None
    """Export register (V2G) at the first reading of the session."""
    export_last_wh: float | None = None
    started_recorded: bool = True
    """The `started` record is known durable. False from the first save of a new transaction
    until the outbox confirms that record: a restart that finds it False (a crash came
    between the two writes) records `started` then (drivers/ocpp/start_records.py)."""


@fast_init
@dataclass(frozen=True, slots=True)
class Reading:
    """An energy register reading of the transaction's EVSE (Wh, after unit sanity)."""

    energy_wh: float
    context: str | None = None
    energy_export_wh: float | None = None


@dataclass(slots=True)
class Outcome:
    tx: StoredTransaction
    events: tuple[TransactionEventKind, ...]
    save: bool
    """The row changed in a way that must be durable before the charger is answered."""


def note_export(tx: StoredTransaction, export_wh: float | None) -> bool:
    """Follow the export register (V2G); True when the session's first one was taken."""
    if export_wh is None:
        return False
    first = tx.export_start_wh is None
    if first:
        tx.export_start_wh = export_wh
    tx.export_last_wh = export_wh
    return first


def v16_start_key(payload: Mapping[str, Any]) -> str:
    """Same connector, tag (any case), timestamp and meterStart: the same session resent."""
    tag = str(payload["idTag"]).casefold()
    return f"{payload['connectorId']}|{tag}|{payload['timestamp']}|{payload['meterStart']}"


def fold_v2_event(
    tx: StoredTransaction | None,
    *,
    charger_id: str,
    transaction_id: str,
    event_type: str,
    evse: int | None,
    id_tag: str | None,
    at_s: float,
    stopped_reason: str | None,
    readings: Sequence[Reading],
) -> Outcome | None:
    """OCPP 2.0.1 E01-E15 TransactionEvent. None: the transaction had ended already."""
    if tx is not None and tx.ended:
        return None
    new = tx is None
    if tx is None:
        tx = StoredTransaction(charger_id, transaction_id, evse or 0, id_tag, started_at=at_s)
    save = new
    if evse and tx.evse != evse:
        tx.evse, save = evse, True
    id_changed = bool(id_tag) and tx.id_tag != id_tag
    if id_changed:
        tx.id_tag, save = id_tag, True
    for reading in readings:
        begin = reading.context == "Transaction.Begin"
        if tx.meter_start_wh is None or (begin and new):
            tx.meter_start_wh, save = reading.energy_wh, True
        tx.meter_last_wh = reading.energy_wh
        save = note_export(tx, reading.energy_export_wh) or save
    events: list[TransactionEventKind] = ["started"] if new else []
    if event_type == "Ended":
        tx.ended, tx.stopped_at, save = True, at_s, True
        tx.stop_reason = stopped_reason or "Local"
        events.append("ended")
    elif not new and (readings or id_changed):
        events.append("updated")
    return Outcome(tx, tuple(events), save)


def fold_v16_stop(
    tx: StoredTransaction | None,
    *,
    charger_id: str,
    transaction_id: str,
    id_tag: str | None,
    meter_stop_wh: float,
    at_s: float,
    reason: str | None,
) -> Outcome:
    """OCPP 1.6 §4.10 StopTransaction; an unknown id is ended as what little is known."""
    if tx is not None and tx.ended:
        return Outcome(tx, (), False)
    if tx is None:
        tx = StoredTransaction(charger_id, transaction_id, 0, id_tag)
    tx.meter_last_wh = meter_stop_wh
    tx.ended, tx.stopped_at, tx.stop_reason = True, at_s, reason or "Local"
    return Outcome(tx, ("ended",), True)
