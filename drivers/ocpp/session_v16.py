"""OCPP 1.6J messages from a charge point (OCPP 1.6 §4 "Operations initiated by Charge Point").

Transactions (§4.8 StartTransaction, §4.10 StopTransaction) are written to the durable store
and their MQTT records made durable before the charger gets its answer. Field quirks: a
StartTransaction resent for the same session gets the same transactionId (and its `started`
record then, if the outbox could not take it the first time: start_records.py); a StopTransaction
for an unknown id is answered (the charger would otherwise retry forever) and published; the
ids 0 and -1 some chargers use mean "the open transaction on this charger".
"""

from __future__ import annotations

import asyncio
from typing import Any

from drivers.ocpp.authorization import decide, id_tag_info
from drivers.ocpp.core.energy import EnergyReference, correct_energy_scale
from drivers.ocpp.core.status import evse_state_v16
from drivers.ocpp.core.timestamps import event_time
from drivers.ocpp.core.transactions import (
    StoredTransaction,
    fold_v16_stop,
    note_export,
    v16_start_key,
)
from drivers.ocpp.diagnostics import log_status
from drivers.ocpp.firmware import firmware_booted, firmware_status
from drivers.ocpp.profile_limits import attach_start_profile, drop_tx_limits
from drivers.ocpp.provisioning import PENDING_RETRY_S
from drivers.ocpp.reservations import reservation_ended
from drivers.ocpp.session import ChargerSession, Handler
from drivers.ocpp.telemetry import record_meter_values, started_if_missing, transaction_event
from gateway.foundation.model import ChargerEvent, ChargerId
from gateway.foundation.model.versions import OcppVersion

__all__ = ["Session16"]

_PLACEHOLDER_IDS = ("0", "-1")


def _id_text(raw: object) -> str:
    """1.6 transaction ids are integers; `12.0` and `"12"` from lenient chargers mean 12."""
    if type(raw) is int:  # what the schema asks for (and exact, however large)
        return str(raw)
    try:
        return str(int(float(str(raw))))
    except (ValueError, OverflowError):
        return str(raw)


async def boot_notification(s: ChargerSession, p: dict[str, Any]) -> dict[str, Any]:
    book = s.hub.book(s.charger_id)
    book.version = OcppVersion.V16
    book.vendor = p.get("chargePointVendor")
    book.model = p.get("chargePointModel")
    book.firmware = p.get("firmwareVersion")
    book.serial = p.get("chargePointSerialNumber") or p.get("chargeBoxSerialNumber")
    s.log.info("charger_booted", vendor=book.vendor, model=book.model, firmware=book.firmware)
    firmware_booted(s)
    return await accept_boot(s)


async def accept_boot(s: ChargerSession) -> dict[str, Any]:
    """Every version: keep the identity across restarts, publish it, answer Accepted (or
    Pending until a `boot: pending` charger is provisioned), then the follow-up work."""
    await s.hub.store.save_identity(s.charger_id, s.hub.book(s.charger_id).identity_json())
    s.publish_state()
    follow_up = s.hub.boot_follow_up
    status = "Accepted" if follow_up is None else follow_up.boot_status(s)
    if follow_up is not None:

        async def after() -> None:
            async with s.boot_lock:
                await follow_up.after_boot(s, status)

        s.after_reply.append(after)
    interval = s.hub.config.heartbeat_interval_s if status == "Accepted" else PENDING_RETRY_S
    s.log.info("boot_answered", status=status)
    return {"status": status, "currentTime": s.now_iso(), "interval": interval}


async def heartbeat(s: ChargerSession, p: dict[str, Any]) -> dict[str, Any]:
    s.hub.book(s.charger_id).last_seen_s = s.now_s()
    return {"currentTime": s.now_iso()}


async def status_notification(s: ChargerSession, p: dict[str, Any]) -> dict[str, Any]:
    book = s.hub.book(s.charger_id)
    state = evse_state_v16(p["status"], p.get("errorCode"))
    if book.evses.get(p["connectorId"]) != state:
        book.evses[p["connectorId"]] = state
        s.publish_state()
    return {}


async def authorize(s: ChargerSession, p: dict[str, Any]) -> dict[str, Any]:
    return {"idTagInfo": id_tag_info(decide(s, p["idTag"], None, "Authorize"))}


async def start_transaction(s: ChargerSession, p: dict[str, Any]) -> dict[str, Any]:
    store = s.hub.store
    id_tag: str = p["idTag"]
    info = id_tag_info(decide(s, id_tag, None, "StartTransaction"))
    key = v16_start_key(p)
    existing = store.by_start_key(s.charger_id, key)
    if existing is not None:
        return await _start_resent(s, p, existing, info)
    meter_start = float(p["meterStart"])
    tx = StoredTransaction(
        s.charger_id,
        store.allocate_id(),
        p["connectorId"],
        id_tag,
        meter_start_wh=meter_start,
        meter_last_wh=meter_start,
        started_at=event_time(p["timestamp"], s.now_s()).timestamp(),
        start_key=key,
        started_recorded=False,
    )
    started = s.hub.start_records.track(tx, s.hub.recorder.record(transaction_event("started", tx)))
    await asyncio.gather(store.save(tx), started)
    return await _started(s, p, tx, info)


async def _start_resent(
    s: ChargerSession, p: dict[str, Any], tx: StoredTransaction, info: dict[str, Any]
) -> dict[str, Any]:
    """The same StartTransaction again: the same transactionId, and its `started` record made
    now if the outbox did not take it the first time (the charger was told to retry)."""
    if await started_if_missing(s.hub, tx):
        s.log.info("transaction_start_recorded_on_resend", transaction_id=tx.transaction_id)
        return await _started(s, p, tx, info)
    s.log.warning("duplicate_start_transaction", transaction_id=tx.transaction_id)
    return {"transactionId": int(tx.transaction_id), "idTagInfo": info}


async def _started(
    s: ChargerSession, p: dict[str, Any], tx: StoredTransaction, info: dict[str, Any]
) -> dict[str, Any]:
    """What follows a start whose row and `started` record are durable."""
    if p.get("reservationId") is not None:
        reservation_ended(s.hub, s.charger_id, p["reservationId"], "Used")
    s.last_energy_wh[tx.evse] = EnergyReference(float(p["meterStart"]), s.now_s(), tx.started_at)
    s.log.info("transaction_started", transaction_id=tx.transaction_id, evse=tx.evse)
    await attach_start_profile(s.hub, s.charger_id, tx.evse, tx.transaction_id, tx.id_tag)
    s.publish_state()
    return {"transactionId": int(tx.transaction_id), "idTagInfo": info}


def _max_power(s: ChargerSession) -> float:
    return s.hub.charger_config(s.charger_id).max_power_w


def _find(s: ChargerSession, transaction_id: str) -> StoredTransaction | None:
    tx = s.hub.store.get(s.charger_id, transaction_id)
    if tx is None and transaction_id in _PLACEHOLDER_IDS:
        open_now = s.hub.store.open_for(s.charger_id)
        if len(open_now) == 1:
            return open_now[0]
    return tx


async def stop_transaction(s: ChargerSession, p: dict[str, Any]) -> dict[str, Any]:
    store = s.hub.store
    tx_id = _id_text(p["transactionId"])
    id_tag = p.get("idTag")
    answer: dict[str, Any] = {}
    if id_tag:
        answer["idTagInfo"] = id_tag_info(decide(s, id_tag, None, "StopTransaction"))
    tx = _find(s, tx_id)
    evse = tx.evse if tx is not None else 0
    data = p.get("transactionData")
    if isinstance(data, list):
        await record_meter_values(s, evse, data, tx, tx_id, v2=False)
    meter_stop = float(p["meterStop"])
    stopped = event_time(p["timestamp"], s.now_s()).timestamp()
    reference = s.last_energy_wh.get(evse) if tx is not None else None
    if reference is None and tx is not None and tx.meter_start_wh is not None:
        started = tx.started_at or stopped
        reference = EnergyReference(tx.meter_start_wh, started, started)
    meter_stop = correct_energy_scale(
        meter_stop,
        reference,
        received_s=s.now_s(),
        sampled_s=stopped,
        max_power_w=_max_power(s),
        labelled=False,
    )
    if tx is None:
        s.log.warning("stop_for_unknown_transaction", transaction_id=tx_id)
    outcome = fold_v16_stop(
        tx,
        charger_id=s.charger_id,
        transaction_id=tx_id,
        id_tag=id_tag,
        meter_stop_wh=meter_stop,
        at_s=stopped,
        reason=p.get("reason"),
    )
    if not outcome.events:
        s.log.info("duplicate_stop_transaction", transaction_id=tx_id)
        return answer
    tx = outcome.tx
    await asyncio.gather(store.save(tx), s.hub.recorder.record(transaction_event("ended", tx)))
    s.log.info("transaction_ended", transaction_id=tx.transaction_id, reason=tx.stop_reason)
    await drop_tx_limits(s.hub, s.charger_id, tx.evse)
    s.publish_state()
    return answer


async def meter_values(s: ChargerSession, p: dict[str, Any]) -> dict[str, Any]:
    evse: int = p["connectorId"]
    raw_id = p.get("transactionId")
    tx_id = None if raw_id is None else _id_text(raw_id)
    if tx_id is None or tx_id in _PLACEHOLDER_IDS:
        tx = s.hub.store.open_on(s.charger_id, evse)
    else:
        tx = s.hub.store.get(s.charger_id, tx_id)
    if tx is not None:
        tx_id = tx.transaction_id
    samples = await record_meter_values(s, evse, p["meterValue"], tx, tx_id, v2=False)
    if tx is not None and not tx.ended:
        energies = [x.telemetry.energy_wh for x in samples if x.telemetry.energy_wh is not None]
        exports = [e for x in samples if (e := x.telemetry.energy_export_wh) is not None]
        if exports:
            note_export(tx, exports[-1])
        if energies:
            # Not awaited: an `updated` event lost in a crash is superseded by the next one
            # and by `ended`; waiting for its commit would cost a thread round trip per sample.
            s.hub.store.note_meter(tx, energies[-1])
            s.hub.recorder.record(transaction_event("updated", tx))
    return {}


def event(name: str) -> Handler:
    """A message that is published as a ChargerEvent and answered with an empty payload."""

    async def handler(s: ChargerSession, p: dict[str, Any]) -> dict[str, Any]:
        s.log.info("charger_event", kind=name, fields=len(p))
        s.hub.recorder.record(ChargerEvent(ChargerId(s.charger_id), name, p))
        return {}

    return handler


async def data_transfer(s: ChargerSession, p: dict[str, Any]) -> dict[str, Any]:
    """1.6 §4.3, 2.x P01/P02: vendor data is published; no vendor extension is implemented."""
    await event("data_transfer")(s, p)
    return {"status": "UnknownVendorId"}


class Session16(ChargerSession):
    HANDLERS = {
        "BootNotification": boot_notification,
        "Heartbeat": heartbeat,
        "StatusNotification": status_notification,
        "Authorize": authorize,
        "StartTransaction": start_transaction,
        "StopTransaction": stop_transaction,
        "MeterValues": meter_values,
        "DataTransfer": data_transfer,
        "FirmwareStatusNotification": firmware_status,
        "DiagnosticsStatusNotification": log_status("diagnostics_status"),
        "SecurityEventNotification": event("security_event"),
        "SignedFirmwareStatusNotification": firmware_status,
        "LogStatusNotification": log_status("log_status"),
    }
