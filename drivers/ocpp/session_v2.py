"""OCPP 2.0.1 and 2.1 messages from a charging station (2.0.1 Part 2: B, C, E, G, J, L, N, P).

Transactions arrive as TransactionEvent (E01-E15): Started / Updated / Ended with the charger's
own transaction id. The meter at start is the `Transaction.Begin` reading, else the first
energy register seen in the transaction. An event for a transaction the gateway has not seen
(its Started was lost) still publishes `started` first, so consumers always see a pair; one
saved whose `started` record did not become durable gets it when its events come again
(start_records.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

from drivers.ocpp.authorization import decide, id_token_info
from drivers.ocpp.core.status import evse_state
from drivers.ocpp.core.timestamps import event_time
from drivers.ocpp.core.transactions import Reading, fold_v2_event
from drivers.ocpp.diagnostics import log_status
from drivers.ocpp.ev_needs import notify_ev_charging_needs, notify_ev_charging_schedule
from drivers.ocpp.firmware import firmware_booted, firmware_status
from drivers.ocpp.profile_limits import attach_start_profile, drop_tx_limits
from drivers.ocpp.reservations import reservation_ended, reservation_status_update
from drivers.ocpp.session import ChargerSession
from drivers.ocpp.session_v16 import accept_boot, data_transfer, event, heartbeat
from drivers.ocpp.telemetry import record_meter_values, started_if_missing, transaction_event

__all__ = ["Session2"]


async def boot_notification(s: ChargerSession, p: dict[str, Any]) -> dict[str, Any]:
    station = p["chargingStation"]
    book = s.hub.book(s.charger_id)
    book.version = s.version
    book.vendor = station.get("vendorName")
    book.model = station.get("model")
    book.firmware = station.get("firmwareVersion")
    book.serial = station.get("serialNumber")
    s.log.info("charger_booted", vendor=book.vendor, model=book.model, reason=p.get("reason"))
    firmware_booted(s)
    return await accept_boot(s)


async def status_notification(s: ChargerSession, p: dict[str, Any]) -> dict[str, Any]:
    book = s.hub.book(s.charger_id)
    evse: int = p["evseId"]
    connectors = book.connectors.setdefault(evse, {})
    connectors[p["connectorId"]] = p["connectorStatus"]
    state = evse_state(connectors)
    if book.evses.get(evse) != state:
        book.evses[evse] = state
        s.publish_state()
    return {}


async def authorize(s: ChargerSession, p: dict[str, Any]) -> dict[str, Any]:
    token = p["idToken"]
    decision = decide(s, token.get("idToken"), token.get("type"), "Authorize")
    return {"idTokenInfo": id_token_info(decision)}


async def meter_values(s: ChargerSession, p: dict[str, Any]) -> dict[str, Any]:
    evse: int = p["evseId"]
    tx = s.hub.store.open_on(s.charger_id, evse) if evse else None
    tx_id = tx.transaction_id if tx is not None else None
    await record_meter_values(s, evse, p["meterValue"], tx, tx_id, v2=True)
    return {}


async def transaction_event_handler(s: ChargerSession, p: dict[str, Any]) -> dict[str, Any]:
    store = s.hub.store
    info = p["transactionInfo"]
    tx_id: str = info["transactionId"]
    event_type: str = p["eventType"]
    evse_field = p.get("evse")
    evse = evse_field.get("id") if isinstance(evse_field, dict) else None
    token = p.get("idToken")
    token = token if isinstance(token, dict) else {}
    id_tag = token.get("idToken")
    answer: dict[str, Any] = {}
    if id_tag is not None:
        decision = decide(s, id_tag, token.get("type"), f"TransactionEvent {p['eventType']}")
        answer["idTokenInfo"] = id_token_info(decision)

    if p.get("reservationId") is not None:
        reservation_ended(s.hub, s.charger_id, p["reservationId"], "Used")
    tx = store.get(s.charger_id, tx_id)
    if tx is not None and await started_if_missing(s.hub, tx):
        s.log.info("transaction_start_recorded_on_resend", transaction_id=tx.transaction_id)
    meter_values = p.get("meterValue") or ()
    if tx is not None and tx.ended:
        s.log.info("event_for_ended_transaction", transaction_id=tx_id, event_type=event_type)
        await record_meter_values(s, tx.evse, meter_values, None, tx_id, v2=True)
        return answer
    tx_evse = evse or (tx.evse if tx is not None else 0)
    samples = await record_meter_values(s, tx_evse, meter_values, tx, tx_id, v2=True)
    readings = [
        Reading(x.telemetry.energy_wh, x.context, x.telemetry.energy_export_wh)
        for x in samples
        if x.telemetry.energy_wh is not None
    ]
    outcome = fold_v2_event(
        tx,
        charger_id=s.charger_id,
        transaction_id=tx_id,
        event_type=event_type,
        evse=evse,
        id_tag=id_tag,
        at_s=event_time(p["timestamp"], s.now_s()).timestamp(),
        stopped_reason=info.get("stoppedReason"),
        readings=readings,
    )
    assert outcome is not None  # an ended transaction returned above
    tx = outcome.tx
    if "started" in outcome.events:
        tx.started_recorded = False  # until the outbox confirms it (start_records.py)
    writes: list[Any] = []
    for kind in outcome.events:
        recorded = s.hub.recorder.record(transaction_event(kind, tx))
        if kind == "started":
            recorded = s.hub.start_records.track(tx, recorded)
        writes.append(recorded)
    if outcome.save:
        writes.append(store.save(tx))
    elif tx.meter_last_wh is not None:
        store.note_meter(tx, tx.meter_last_wh)
    if outcome.save:  # started, ended, a new id token or meter start: durable before the answer
        await asyncio.gather(*writes)
    if "started" in outcome.events and tx.evse:
        await attach_start_profile(s.hub, s.charger_id, tx.evse, tx.transaction_id, tx.id_tag)
    if "ended" in outcome.events:
        await drop_tx_limits(s.hub, s.charger_id, tx.evse)
    if "started" in outcome.events or "ended" in outcome.events:
        s.log.info("transaction_event", transaction_id=tx_id, events=outcome.events)
        s.publish_state()
    return answer


async def notify_report(s: ChargerSession, p: dict[str, Any]) -> dict[str, Any]:
    """B07/B08: parts of a report the gateway asked for are assembled (config_commands.py);
    a report nobody asked for is published as an event."""
    if not s.hub.reports.offer(s.charger_id, p):
        await event("notify_report")(s, p)
    return {}


class Session2(ChargerSession):
    """OCPP 2.0.1 and 2.1 (2.1 is a superset for everything handled here)."""

    HANDLERS = {
        "BootNotification": boot_notification,
        "Heartbeat": heartbeat,
        "StatusNotification": status_notification,
        "Authorize": authorize,
        "TransactionEvent": transaction_event_handler,
        "MeterValues": meter_values,
        "DataTransfer": data_transfer,
        "FirmwareStatusNotification": firmware_status,
        "ReservationStatusUpdate": reservation_status_update,
        "SecurityEventNotification": event("security_event"),
        "NotifyEvent": event("notify_event"),
        "LogStatusNotification": log_status("log_status"),
        "NotifyReport": notify_report,
        "NotifyMonitoringReport": event("notify_monitoring_report"),
        "NotifyChargingLimit": event("notify_charging_limit"),
        "ClearedChargingLimit": event("cleared_charging_limit"),
        "ReportChargingProfiles": event("report_charging_profiles"),
        "NotifyCustomerInformation": event("notify_customer_information"),
        "NotifyDisplayMessages": event("notify_display_messages"),
        "PublishFirmwareStatusNotification": event("publish_firmware_status"),
        "NotifyEVChargingNeeds": notify_ev_charging_needs,
        "NotifyEVChargingSchedule": notify_ev_charging_schedule,
    }
