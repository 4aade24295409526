"""Meter samples and transaction events from a session into the recorder.

Shared by every OCPP version: each meterValue element becomes a telemetry record (published
without waiting: telemetry may be dropped under overload), and transaction events are built
from the durable store's rows (their records are awaited before the charger is answered).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from drivers.ocpp.core.energy import (
    EnergyReference,
    correct_energy_scale,
    correct_power_scale,
    session_energy_wh,
)
from drivers.ocpp.core.meter import MeterSample, read_meter_value
from drivers.ocpp.core.transactions import StoredTransaction
from drivers.ocpp.hub import Hub
from drivers.ocpp.session import ChargerSession
from gateway.foundation.model import (
    ChargerId,
    ChargerTelemetry,
    TransactionEvent,
    TransactionEventKind,
)

__all__ = ["record_meter_values", "record_started", "started_if_missing", "transaction_event"]

_YIELD_EVERY = 32


async def record_meter_values(
    session: ChargerSession,
    evse: int,
    meter_values: Iterable[Any],
    transaction: StoredTransaction | None,
    transaction_id: str | None,
    *,
    v2: bool,
) -> list[MeterSample]:
    """Publish one telemetry record per meterValue element; returns the translated samples.

    Yields to the event loop every `_YIELD_EVERY` elements: a message with thousands of them
    must not hold up every other charger, Modbus polling and the site controller.
    """
    charger_id = ChargerId(session.charger_id)
    max_power_w = session.hub.charger_config(session.charger_id).max_power_w
    now_s = session.now_s()
    record = session.hub.recorder.record
    samples = []
    for n, meter_value in enumerate(meter_values, 1):
        if n % _YIELD_EVERY == 0:
            await asyncio.sleep(0)
        if not isinstance(meter_value, dict):
            continue
        sample = read_meter_value(
            meter_value,
            charger_id=charger_id,
            evse=evse,
            transaction_id=transaction_id,
            now_s=now_s,
            v2=v2,
        )
        if sample.skipped:
            session.log.debug("sampled_values_skipped", values=sample.skipped)
        sample.telemetry = _sane(session, sample, evse, transaction, max_power_w, now_s)
        record(sample.telemetry)
        samples.append(sample)
    return samples


def _sane(
    session: ChargerSession,
    sample: MeterSample,
    evse: int,
    transaction: StoredTransaction | None,
    max_power_w: float,
    received_s: float,
) -> ChargerTelemetry:
    t = sample.telemetry
    energy, power = t.energy_wh, t.power_w
    if energy is not None:
        sampled_s = t.sampled_at.timestamp() if t.sampled_at else None
        reference = session.last_energy_wh.get(evse)
        if reference is None and transaction is not None:
            last = transaction.meter_last_wh or transaction.meter_start_wh
            if last is not None and transaction.started_at is not None:
                reference = EnergyReference(last, transaction.started_at, transaction.started_at)
        energy = correct_energy_scale(
            energy, reference, received_s=received_s, sampled_s=sampled_s, max_power_w=max_power_w
        )
        session.last_energy_wh[evse] = EnergyReference(energy, received_s, sampled_s)
    if power is not None:
        power = correct_power_scale(power, max_power_w)
    if energy != t.energy_wh or power != t.power_w:
        session.log.warning("unit_mislabel_corrected", evse=evse, energy_wh=energy, power_w=power)
        return dataclasses.replace(t, energy_wh=energy, power_w=power)
    return t


_DATETIMES: dict[float, datetime] = {}
"""Start times already converted: an open transaction's `updated` carries it every time."""
_MAX_DATETIMES = 4096


def _dt(epoch_s: float | None) -> datetime | None:
    if epoch_s is None:
        return None
    at = _DATETIMES.get(epoch_s)
    if at is None:
        at = datetime.fromtimestamp(epoch_s, UTC)
        if len(_DATETIMES) >= _MAX_DATETIMES:
            _DATETIMES.clear()
        _DATETIMES[epoch_s] = at
    return at


def record_started(hub: Hub, tx: StoredTransaction) -> asyncio.Future[None]:
    """Record `tx`'s `started` again, as it stood at the start, followed to its end by the
    start records (a transaction saved whose first `started` did not become durable)."""
    as_started = dataclasses.replace(
        tx, meter_last_wh=tx.meter_start_wh, export_last_wh=tx.export_start_wh
    )
    recorded = hub.recorder.record(transaction_event("started", as_started))
    return hub.start_records.track(tx, recorded)


async def started_if_missing(hub: Hub, tx: StoredTransaction) -> bool:
    """A transaction saved whose `started` the outbox did not take (its charger, answered
    with an error, sends the start again) gets it now, once; True when it was recorded now.
    While the first one is still being recorded, its outcome is this one's."""
    running = hub.start_records.running(tx)
    if running is not None:
        await asyncio.shield(running)
        return False
    if hub.start_records.missing(tx):
        await record_started(hub, tx)
        return True
    return False


def transaction_event(kind: TransactionEventKind, tx: StoredTransaction) -> TransactionEvent:
    """The MQTT transaction record for `tx` as it stands (energy = meter now - meter at start)."""
    return TransactionEvent(
        ChargerId(tx.charger_id),
        kind,
        tx.transaction_id,
        tx.evse,
        id_tag=tx.id_tag,
        energy_wh=session_energy_wh(tx.meter_start_wh, tx.meter_last_wh),
        energy_export_wh=session_energy_wh(tx.export_start_wh, tx.export_last_wh),
        meter_start_wh=tx.meter_start_wh,
        meter_now_wh=tx.meter_last_wh,
        started_at=_dt(tx.started_at),
        stopped_at=_dt(tx.stopped_at) if kind == "ended" else None,
        stop_reason=tx.stop_reason if kind == "ended" else None,
    )
