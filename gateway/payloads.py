"""The one place that turns model records into MQTT messages (topic, JSON body, retain, drop policy).

Bodies are plain dicts without `ts`/`seq`; the outbox stamps those when it accepts the record,
and serialises once. Fields that are None are left out, so "not reported" never reads as 0.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gateway.foundation.clock import format_ts
from gateway.foundation.model import (
    ActiveTransaction,
    ChargerConfigReport,
    ChargerEvent,
    ChargerLimit,
    ChargerState,
    ChargerTelemetry,
    DeviceKind,
    EvNeeds,
    EvseState,
    LimitPeriod,
    MeterState,
    MeterTelemetry,
    PhaseValues,
    Record,
    SetpointState,
    SiteEvent,
    SiteFlexibility,
    SiteTelemetry,
    StorageState,
    StorageTelemetry,
    TransactionEvent,
)
from gateway.foundation.model.fast_init import fast_init
from gateway.foundation.model.fields import measured_fields
from gateway.topics import Topics

__all__ = ["MqttMessage", "to_message"]


@fast_init
@dataclass(frozen=True, slots=True)
class MqttMessage:
    topic: str
    body: dict[str, Any]
    retain: bool
    droppable: bool
    """True for telemetry: may be dropped (oldest first) when the outbox is full."""


_TIMES: dict[datetime, str] = {}
"""UTC times already formatted: a transaction's start comes with each of its records."""
_TIMES_CAP = 4096


def _dt(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not UTC or type(value) is not datetime:
        return format_ts(value.timestamp())  # (equal local times may differ by their fold)
    text = _TIMES.get(value)
    if text is None:
        text = format_ts(value.timestamp())
        if len(_TIMES) >= _TIMES_CAP:
            _TIMES.clear()
        _TIMES[value] = text
    return text


def _compact(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


def _omitting_none(names: tuple[str, ...]) -> Callable[[Any], dict[str, Any]]:
    """A function `record -> {name: value}` for these attributes, in this order, leaving out
    the ones that are None.

    Compiled once from the names, as `dataclasses` builds `__init__`: straight-line code
    reads each attribute and tests it, with no comprehension frame, zip or tuple per call
    (a third of the cost; a charger message builds five of these bodies).
    """
    lines = ["def body(r):", "    d = {}"]
    for name in names:
        if not name.isidentifier():
            raise ValueError(f"not a field name: {name!r}")
        lines += [f"    v = r.{name}", "    if v is not None:", f"        d[{name!r}] = v"]
    lines.append("    return d")
    namespace: dict[str, Any] = {}
    exec("\n".join(lines), namespace)  # the source is field names only
    built: Callable[[Any], dict[str, Any]] = namespace["body"]
    return built


# Per-message tables, read from the records once at import: a value added to a record is in
# the payload (and, through gateway.api_spec, in the schema) with no list to edit here.
_PHASE_VALUES = measured_fields(PhaseValues)
_phase_body = _omitting_none(_PHASE_VALUES)
_CHARGER_BODY = tuple(
    f.name for f in dataclasses.fields(ChargerTelemetry) if f.name != "charger_id"
)
"""The charger telemetry body's keys in the record's order (the charger id is in the topic)."""
_charger_body = _omitting_none(_CHARGER_BODY)


def _phases(phases: Mapping[str, PhaseValues] | None) -> dict[str, Any] | None:
    if not phases:
        return None
    return {name: _phase_body(p) for name, p in phases.items()}


def _charger_telemetry(r: ChargerTelemetry, t: Topics) -> MqttMessage:
    # Every value reported, in the record's order; then phases and the time in their place.
    body = _charger_body(r)
    if r.phases is not None:
        phases = _phases(r.phases)
        if phases is None:
            del body["phases"]
        else:
            body["phases"] = phases
    if r.sampled_at is not None:
        body["sampled_at"] = _dt(r.sampled_at)
    return MqttMessage(
        t.device(DeviceKind.CHARGER, r.charger_id, "telemetry"), body, False, True
    )


_transaction_body = _omitting_none(
    (
        "event",
        "transaction_id",
        "evse",
        "id_tag",
        "energy_wh",
        "meter_start_wh",
        "meter_now_wh",
        "started_at",
        "stopped_at",
        "stop_reason",
        "energy_export_wh",
    )
)


def _transaction(r: TransactionEvent, t: Topics) -> MqttMessage:
    body = _transaction_body(r)
    if r.started_at is not None:
        body["started_at"] = _dt(r.started_at)
    if r.stopped_at is not None:
        body["stopped_at"] = _dt(r.stopped_at)
    topic = t.device(DeviceKind.CHARGER, r.charger_id, "transaction")
    return MqttMessage(topic, body, False, False)


def _charger_event(r: ChargerEvent, t: Topics) -> MqttMessage:
    body = {"event": r.event, "data": dict(r.data)}
    return MqttMessage(t.device(DeviceKind.CHARGER, r.charger_id, "event"), body, False, False)


def _evse(e: EvseState) -> dict[str, Any]:
    connectors = {str(k): v for k, v in e.connectors.items()} if e.connectors else None
    return _compact(status=e.status, error_code=e.error_code, connectors=connectors)


def _active(tx: ActiveTransaction) -> dict[str, Any]:
    return _compact(
        transaction_id=tx.transaction_id,
        evse=tx.evse,
        id_tag=tx.id_tag,
        started_at=_dt(tx.started_at),
        meter_start_wh=tx.meter_start_wh,
    )


def _periods(periods: tuple[LimitPeriod, ...] | None) -> list[dict[str, Any]] | None:
    if periods is None:
        return None
    return [
        _compact(offset_s=p.offset_s, power_w=p.power_w, current_a=p.current_a, phases=p.phases)
        for p in periods
    ]


def _limit(lim: ChargerLimit) -> dict[str, Any]:
    return _compact(
        evse=lim.evse,
        power_w=lim.power_w,
        current_a=lim.current_a,
        expires_at=_dt(lim.expires_at),
        source=lim.source,
        purpose=lim.purpose,
        kind=lim.kind,
        recurrency=lim.recurrency,
        stack_level=lim.stack_level,
        profile_id=lim.profile_id,
        transaction_id=lim.transaction_id,
        start=_dt(lim.start),
        valid_from=_dt(lim.valid_from),
        valid_to=_dt(lim.valid_to),
        schedule=_periods(lim.schedule),
    )


def _ev_needs(n: EvNeeds) -> dict[str, Any]:
    return _compact(
        energy_wh=n.energy_wh,
        departure_time=_dt(n.departure_time),
        transfer_mode=n.transfer_mode,
        max_charge_power_w=n.max_charge_power_w,
        max_discharge_power_w=n.max_discharge_power_w,
        min_discharge_power_w=n.min_discharge_power_w,
        discharge_energy_wh=n.discharge_energy_wh,
        target_soc_pct=n.target_soc_pct,
        ev_schedule=_periods(n.ev_schedule),
        ev_schedule_start=_dt(n.ev_schedule_start),
        updated_at=_dt(n.updated_at),
    )


def _charger_state(r: ChargerState, t: Topics) -> MqttMessage:
    body = _compact(
        connected=r.connected,
        ocpp_version=r.ocpp_version,
        vendor=r.vendor,
        model=r.model,
        firmware=r.firmware,
        serial=r.serial,
        evses={str(k): _evse(v) for k, v in sorted(r.evses.items())},
        transactions=[_active(tx) for tx in r.transactions],
        limits=[_limit(lim) for lim in r.limits],
        limit_in_force={
            str(evse): _compact(power_w=lim.power_w, current_a=lim.current_a, source=lim.source)
            for evse, lim in sorted(r.limit_in_force.items())
        }
        or None,
        last_seen=_dt(r.last_seen),
        reason=r.reason,
        ev_needs={str(k): _ev_needs(v) for k, v in sorted(r.ev_needs.items())} or None,
        provision={k: dict(v) for k, v in r.provision.items()} if r.provision else None,
        firmware_update=dict(r.firmware_update) if r.firmware_update else None,
        reservations=[dict(x) for x in r.reservations] if r.reservations else None,
    )
    return MqttMessage(t.device(DeviceKind.CHARGER, r.charger_id, "state"), body, True, False)


def _charger_config(r: ChargerConfigReport, t: Topics) -> MqttMessage:
    body = {
        "read_at": _dt(r.read_at),
        "source": r.source,
        "entries": [dict(e) for e in r.entries],
    }
    return MqttMessage(t.device(DeviceKind.CHARGER, r.charger_id, "config"), body, True, False)


_STORAGE_VALUES = measured_fields(StorageTelemetry)
_METER_VALUES = measured_fields(MeterTelemetry)


def _storage_telemetry(r: StorageTelemetry, t: Topics) -> MqttMessage:
    body = _compact(**{name: getattr(r, name) for name in _STORAGE_VALUES})
    return MqttMessage(
        t.device(DeviceKind.STORAGE, r.device_id, "telemetry"), body, False, True
    )


def _setpoint(s: SetpointState | None) -> dict[str, Any] | None:
    if s is None:
        return None
    return _compact(power_w=s.power_w, expires_at=_dt(s.expires_at), source=s.source)


def _storage_state(r: StorageState, t: Topics) -> MqttMessage:
    body = _compact(
        connected=r.connected,
        mode=r.mode,
        setpoint=_setpoint(r.setpoint),
        limits=_compact(
            max_charge_w=r.max_charge_w,
            max_discharge_w=r.max_discharge_w,
            soc_min_pct=r.soc_min_pct,
            soc_max_pct=r.soc_max_pct,
        ),
        fallback_power_w=r.fallback_power_w,
        alarms=list(r.alarms),
        identity=dict(r.identity) if r.identity else None,
        reason=r.reason,
    )
    return MqttMessage(t.device(DeviceKind.STORAGE, r.device_id, "state"), body, True, False)


def _meter_telemetry(r: MeterTelemetry, t: Topics) -> MqttMessage:
    body = _compact(
        **{name: getattr(r, name) for name in _METER_VALUES}, phases=_phases(r.phases)
    )
    return MqttMessage(t.device(DeviceKind.METER, r.device_id, "telemetry"), body, False, True)


def _meter_state(r: MeterState, t: Topics) -> MqttMessage:
    body = _compact(
        connected=r.connected,
        identity=dict(r.identity) if r.identity else None,
        reason=r.reason,
    )
    return MqttMessage(t.device(DeviceKind.METER, r.device_id, "state"), body, True, False)


def _site_telemetry(r: SiteTelemetry, t: Topics) -> MqttMessage:
    body = _compact(
        chargers_power_w=r.chargers_power_w,
        storage_power_w=r.storage_power_w,
        grid_power_w=r.grid_power_w,
        import_limit_w=r.import_limit_w,
        export_limit_w=r.export_limit_w,
        limit_source=r.limit_source,
        target_w=r.target_w,
        target_source=r.target_source,
        import_limit_a=r.import_limit_a,
        phase_current_a=dict(r.phase_current_a) if r.phase_current_a else None,
        charger_shares_w=None if r.charger_shares_w is None else dict(r.charger_shares_w),
        storage_setpoints_w=None if r.storage_setpoints_w is None else dict(r.storage_setpoints_w),
        failsafe=r.failsafe,
    )
    return MqttMessage(t.device(DeviceKind.SITE, "", "telemetry"), body, False, True)


def _site_event(r: SiteEvent, t: Topics) -> MqttMessage:
    body = {"event": r.event, "data": dict(r.data)}
    return MqttMessage(t.device(DeviceKind.SITE, "", "event"), body, False, False)


def _site_flexibility(r: SiteFlexibility, t: Topics) -> MqttMessage:
    body = {
        "import_w": r.import_w,
        "shed_w": r.shed_w,
        "shed_for_s": r.shed_for_s,
        "add_w": r.add_w,
        "add_for_s": r.add_for_s,
        "parts": [
            {
                "kind": p.kind,
                "device_id": p.device_id,
                "shed_w": p.shed_w,
                "add_w": p.add_w,
                "shed_for_s": p.shed_for_s,
                "add_for_s": p.add_for_s,
            }
            for p in r.parts
        ],
    }
    return MqttMessage(t.device(DeviceKind.SITE, "", "flexibility"), body, False, True)


_BUILDERS: dict[type, Callable[[Any, Topics], MqttMessage]] = {
    ChargerTelemetry: _charger_telemetry,
    TransactionEvent: _transaction,
    ChargerEvent: _charger_event,
    ChargerConfigReport: _charger_config,
    ChargerState: _charger_state,
    StorageTelemetry: _storage_telemetry,
    StorageState: _storage_state,
    MeterTelemetry: _meter_telemetry,
    MeterState: _meter_state,
    SiteTelemetry: _site_telemetry,
    SiteEvent: _site_event,
    SiteFlexibility: _site_flexibility,
}


def to_message(record: Record, topics: Topics) -> MqttMessage:
    return _BUILDERS[type(record)](record, topics)
