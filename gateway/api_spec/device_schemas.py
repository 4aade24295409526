"""Schemas of the device payloads: charger, battery, meter and site records.

They describe the bodies `gateway/payloads.py` builds, field by field, with units and the sign
convention; every object forbids unknown properties, so an undocumented field fails the tests.
"""

from __future__ import annotations

import dataclasses

from gateway.api_spec.schema_parts import LOAD, Schema, integer, num, obj, record, text, time
from gateway.foundation.model import (
    ChargerTelemetry,
    MeterTelemetry,
    PhaseValues,
    StorageTelemetry,
)
from gateway.foundation.model.fields import measured_docs

__all__ = [
    "CHARGER_CONFIG",
    "CHARGER_EVENT",
    "CHARGER_STATE",
    "CHARGER_TELEMETRY",
    "CHARGER_TRANSACTION",
    "METER_STATE",
    "METER_TELEMETRY",
    "SITE_TELEMETRY",
    "STORAGE_STATE",
    "STORAGE_TELEMETRY",
]

def _measured(record: type) -> dict[str, Schema]:
    """A telemetry record's values as numbers, described where the record declares them."""
    return {name: num(doc.format(load=LOAD)) for name, doc in measured_docs(record).items()}


def _in_record_order(record: type, others: dict[str, Schema]) -> dict[str, Schema]:
    """A record's payload properties in the record's field order: the measured values as
    declared there, the other fields as given (a field in neither, the id in the topic, is not
    in the body)."""
    measured = _measured(record)
    names = [f.name for f in dataclasses.fields(record)]
    stray = set(others) - (set(names) - set(measured))
    if stray:
        raise ValueError(f"not unmeasured fields of {record.__name__}: {sorted(stray)}")
    shown = measured | others
    return {name: shown[name] for name in names if name in shown}


_PHASES: Schema = {
    "type": "object",
    "description": "Per-phase values by phase name (L1, L2, L3, N)",
    "propertyNames": {"pattern": "^[A-Za-z0-9_-]+$"},
    "additionalProperties": obj(_measured(PhaseValues)),
}
_IDENTITY: Schema = {
    "type": "object",
    "description": "Manufacturer, model, serial, firmware as the device reports them",
}

CHARGER_TELEMETRY = record(
    "Charger telemetry",
    "One meter sample of one EVSE (evse 0: the whole charger). Not retained; may be dropped when the outbox is full.",
    _in_record_order(
        ChargerTelemetry,
        {
            "evse": integer("EVSE number (OCPP 1.6: connector id); 0 = the whole charger"),
            "phases": _PHASES,
            "transaction_id": text("Transaction the sample belongs to"),
            "sampled_at": time(
                "When the charger took the sample (only when its clock looked plausible)"
            ),
        },
    ),
    ("evse",),
)

CHARGER_TRANSACTION = record(
    "Charging transaction",
    "A charging session started, progressed or ended. Never dropped from the outbox.",
    {
        "event": {
            "type": "string",
            "enum": ["started", "updated", "ended"],
            "description": "What happened",
        },
        "transaction_id": text("Transaction id (OCPP 1.6: integer as a string)"),
        "evse": integer("EVSE (connector) of the session"),
        "id_tag": text("Id tag that authorised the session"),
        "energy_wh": num("Session energy so far, Wh: meter now minus meter at start"),
        "meter_start_wh": num("Meter at the start of the session, Wh"),
        "meter_now_wh": num("Meter now, Wh"),
        "started_at": time("Session start"),
        "stopped_at": time("Session end"),
        "stop_reason": text("Why the session ended, as the charger reported it"),
        "energy_export_wh": num(
            "Energy the EV gave back in the session (V2G): export register now minus at start, Wh"
        ),
    },
    ("event", "transaction_id", "evse"),
)

CHARGER_EVENT = record(
    "Charger event",
    "Something a charger reported that is neither telemetry nor a transaction (firmware status, security event, data transfer, ...). Never dropped.",
    {
        "event": text("snake_case event name, e.g. firmware_status, security_event, data_transfer"),
        "data": {"type": "object", "description": "The message's fields as the charger sent them"},
        "data_truncated": {
            "type": "boolean",
            "description": "Present and true when the record exceeded mqtt.max_record_bytes or the broker's Maximum Packet Size: `data` keeps its small fields and the first characters of long strings; larger nested values are left out",
        },
        "data_bytes": {
            "type": "integer",
            "minimum": 0,
            "description": "With data_truncated: the size in bytes of the original `data` as JSON",
        },
    },
    ("event", "data"),
)

_EVSE_STATE = obj(
    {
        "status": text("OCPP status: Available, Preparing, Charging, SuspendedEV, Faulted, ..."),
        "error_code": text("OCPP error code when not NoError"),
        "connectors": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "Status per connector id (2.x EVSEs with several connectors)",
        },
    },
    ("status",),
)

_PERIOD = obj(
    {
        "offset_s": integer("Seconds after the schedule's start"),
        "power_w": num("Limit, W"),
        "current_a": num("Limit, A per phase"),
        "phases": integer("Phases used"),
    },
    ("offset_s",),
)


CHARGER_STATE = record(
    "Charger state",
    "The charger's digital twin. Retained: a consumer that (re)connects reads the latest at once.",
    {
        "connected": {"type": "boolean", "description": "An OCPP session is open"},
        "ocpp_version": text("Negotiated OCPP version: 1.6, 2.0.1 or 2.1"),
        "vendor": text("From BootNotification"),
        "model": text("From BootNotification"),
        "firmware": text("From BootNotification"),
        "serial": text("From BootNotification"),
        "evses": {
            "type": "object",
            "propertyNames": {"pattern": "^[0-9]+$"},
            "additionalProperties": _EVSE_STATE,
            "description": "State per EVSE number (0: the charger itself)",
        },
        "transactions": {
            "type": "array",
            "description": "Active sessions",
            "items": obj(
                {
                    "transaction_id": text("Transaction id"),
                    "evse": integer("EVSE of the session"),
                    "id_tag": text("Authorising id tag"),
                    "started_at": time("Session start"),
                    "meter_start_wh": num("Meter at the start, Wh"),
                },
                ("transaction_id", "evse"),
            ),
        },
        "limits": {
            "type": "array",
            "description": "Each source's limit per EVSE (command: the control centre's cap, controller: the site controller's share, rating: the configured max_power_w, shown beside the others; the charger is sent the lowest, limit_in_force) and each explicit charging profile the charger holds (one per EVSE and purpose)",
            "items": obj(
                {
                    "evse": integer("EVSE (0: charger-wide)"),
                    "power_w": num("Power limit of a one-value limit, W"),
                    "current_a": num("Current limit of a one-value limit, A per phase"),
                    "expires_at": time("When the limit lapses unless renewed (ttl_s)"),
                    "source": text("Who set it: command, controller or rating"),
                    "purpose": {
                        "type": "string",
                        "enum": ["charger_max", "tx_default", "tx"],
                        "description": "ChargePointMax/ChargingStationMax, TxDefault or Tx profile",
                    },
                    "kind": {
                        "type": "string",
                        "enum": ["absolute", "relative", "recurring"],
                        "description": "Absolute (from start), relative (from the transaction's start) or recurring",
                    },
                    "recurrency": text("daily or weekly (recurring kind)"),
                    "stack_level": integer("Charging profile stack level"),
                    "profile_id": integer("Charging profile id on the charger"),
                    "transaction_id": text("The transaction a tx limit is bound to"),
                    "start": time("When the schedule starts (absolute, recurring)"),
                    "valid_from": time("The charger applies the limit from"),
                    "valid_to": time("The charger drops the limit at"),
                    "schedule": {
                        "type": "array",
                        "description": "Periods of a schedule, each until the next",
                        "items": _PERIOD,
                    },
                },
                ("evse",),
            ),
        },
        "limit_in_force": {
            "type": "object",
            "propertyNames": {"pattern": "^[0-9]+$"},
            "description": "Per EVSE, what holds: the lowest of the sources' limits, or an explicit one-value profile where it is lower",
            "additionalProperties": obj(
                {
                    "power_w": num("Power limit, W (negative: discharge)"),
                    "current_a": num("Current limit, A"),
                    "source": text("Whose limit it is: command, controller or rating"),
                },
                ("source",),
            ),
        },
        "last_seen": time("Last message from the charger"),
        "reason": text("Why the state changed when the gateway did it (e.g. lease_expired)"),
        "ev_needs": {
            "type": "object",
            "propertyNames": {"pattern": "^[0-9]+$"},
            "description": "Per EVSE: what the EV asked for (OCPP 2.x NotifyEVChargingNeeds / NotifyEVChargingSchedule)",
            "additionalProperties": obj(
                {
                    "energy_wh": num("Energy the EV asks for, Wh"),
                    "departure_time": time("When the EV leaves"),
                    "transfer_mode": text("Requested energy transfer (AC_three_phase, DC, ...)"),
                    "max_charge_power_w": num("Most the EV will charge with, W"),
                    "max_discharge_power_w": num(
                        "Most the EV will discharge with (V2X), W, magnitude"
                    ),
                    "min_discharge_power_w": num(
                        "Least discharge power the EV accepts (V2X), W, magnitude"
                    ),
                    "discharge_energy_wh": num(
                        "Energy the EV may give before the bottom of its V2X range (2.1"
                        " evMinV2XEnergyRequest, negated), Wh"
                    ),
                    "target_soc_pct": num("Target state of charge, %"),
                    "ev_schedule": {
                        "type": "array",
                        "description": "The EV's own schedule (NotifyEVChargingSchedule)",
                        "items": _PERIOD,
                    },
                    "ev_schedule_start": time("Start of the EV's schedule"),
                    "updated_at": time("When the charger last reported"),
                },
                (),
            ),
        },
        "provision": {
            "type": "object",
            "description": "Outcome per ocpp.chargers[].provision key after the latest boot",
            "additionalProperties": obj(
                {
                    "status": text(
                        "unchanged, Accepted, RebootRequired, Rejected, NotSupported, UnknownKey, error"
                    ),
                    "value": text("The value the charger had before (or has now)"),
                    "wanted": text("The configured value"),
                    "at": time("When the key was checked"),
                    "reason": text("Why it failed, when it did"),
                },
                ("status", "wanted", "at"),
            ),
        },
        "firmware_update": obj(
            {
                "status": text(
                    "Latest firmware status: Requested, Downloading, Downloaded, Installing, Installed, InstallationFailed, ..."
                ),
                "request_id": integer("The update_firmware request it belongs to"),
                "updated_at": time("When the status last changed"),
                "location": text("Where the charger downloads the image"),
                "previous_version": text("Firmware version when the update was requested"),
                "version": text("Firmware version the charger booted with after the update"),
                "version_changed": {
                    "type": "boolean",
                    "description": "After the reboot: the charger reported a different firmware version",
                },
            },
            ("status", "request_id", "updated_at"),
            description="The latest update_firmware request and what came of it",
        ),
        "reservations": {
            "type": "array",
            "description": "Reservations in force",
            "items": obj(
                {
                    "reservation_id": integer("Reservation id (cancel_reservation takes it)"),
                    "evse": integer("Reserved EVSE (0: any)"),
                    "id_tag": text("Tag the EVSE is held for"),
                    "expires_at": time("When the reservation ends"),
                },
                ("reservation_id", "evse", "id_tag", "expires_at"),
            ),
        },
    },
    ("connected",),
)

CHARGER_CONFIG = record(
    "Charger configuration",
    "The charger's whole configuration (1.6 keys, 2.x device model) as read by the `report` command. Retained.",
    {
        "read_at": time("When the charger was read"),
        "source": text("GetConfiguration (1.6) or GetBaseReport (2.x)"),
        "entries": {
            "type": "array",
            "items": obj(
                {
                    "key": text("1.6 key, or 2.x Component/Variable"),
                    "value": text("The value (absent when the charger does not reveal it)"),
                    "readonly": {"type": "boolean", "description": "Cannot be set"},
                    "evse": integer("2.x: EVSE of the component"),
                    "connector": integer("2.x: connector of the component"),
                    "component_instance": text("2.x: component instance"),
                    "instance": text("2.x: variable instance"),
                    "attribute": text("2.x: Actual, Target, MinSet or MaxSet"),
                    "data_type": text("2.x: string, decimal, integer, dateTime, boolean, ..."),
                    "unit": text("2.x: unit of the value"),
                },
                ("key",),
            ),
            "description": "One entry per key (2.x: per variable attribute)",
        },
    },
    ("read_at", "source", "entries"),
)

STORAGE_TELEMETRY = record(
    "Battery telemetry",
    "One poll of a battery inverter. Not retained; may be dropped when the outbox is full.",
    _measured(StorageTelemetry),
)

STORAGE_STATE = record(
    "Battery state",
    "The battery's digital twin. Retained.",
    {
        "connected": {"type": "boolean", "description": "Modbus polls succeed"},
        "mode": {
            "type": "string",
            "enum": ["idle", "manual", "auto"],
            "description": "Who decides the battery's power",
        },
        "setpoint": obj(
            {
                "power_w": num("Active setpoint, W. " + LOAD),
                "expires_at": time("When the setpoint lapses unless renewed"),
                "source": text("Who set it: command, controller"),
            },
            ("power_w",),
            description="Active setpoint",
        ),
        "limits": obj(
            {
                "max_charge_w": num("Configured charge limit, W"),
                "max_discharge_w": num("Configured discharge limit, W"),
                "soc_min_pct": num("No discharge below, %"),
                "soc_max_pct": num("No charge above, %"),
            },
            description="Limits the gateway enforces",
        ),
        "fallback_power_w": num("Power the device returns to when a setpoint lapses, W"),
        "alarms": {"type": "array", "items": {"type": "string"}, "description": "Active alarms"},
        "identity": _IDENTITY,
        "reason": text(
            "Why the state last changed when the gateway did it (lease_expired, mqtt_lost, ...)"
        ),
    },
    ("connected",),
)

METER_TELEMETRY = record(
    "Meter telemetry",
    "One poll of a grid or sub-meter. Not retained; may be dropped when the outbox is full.",
    {**_measured(MeterTelemetry), "phases": _PHASES},
)

METER_STATE = record(
    "Meter state",
    "The meter's digital twin. Retained.",
    {
        "connected": {"type": "boolean", "description": "Modbus polls succeed"},
        "identity": _IDENTITY,
        "reason": text("Why the state last changed"),
    },
    ("connected",),
)

SITE_TELEMETRY = record(
    "Site telemetry",
    "Site totals computed by the gateway. Not retained; may be dropped when the outbox is full.",
    {
        "chargers_power_w": num("Sum of all chargers, W. " + LOAD),
        "storage_power_w": num("Sum of all batteries, W. " + LOAD),
        "grid_power_w": num("Grid meter, W; positive = import"),
        "import_limit_w": num("Grid import limit in force, W"),
        "export_limit_w": num("Grid export limit in force, W"),
        "limit_source": text("Where the limit comes from: config, command or schedule"),
        "target_w": num(
            "The import the controller aims at, W: the limit less controller_margin_w, or the power target (negative: export), kept within the limit"
        ),
        "target_source": text("limit, power_target or schedule"),
        "import_limit_a": num("Per-phase import limit (site.grid_import_limit_a), A"),
        "phase_current_a": {
            "type": "object",
            "description": "Grid import current per phase (L1, L2, L3), A; negative: export",
            "propertyNames": {"pattern": "^L[123]$"},
            "additionalProperties": {"type": "number"},
        },
        "charger_shares_w": {
            "type": "object",
            "description": "The controller's share per charger, W: null = not limited by the controller, 0 = paused (no power for its minimum current); negative = V2G discharge. Present while the controller limits a charger, follows a target or holds the fail-safe: every connected charger, and any other it still limits",
            "additionalProperties": {"type": ["number", "null"]},
        },
        "storage_setpoints_w": {
            "type": "object",
            "description": "The battery's part: the controller's setpoint per auto-mode battery, W. "
            + LOAD,
            "additionalProperties": {"type": "number"},
        },
        "failsafe": {
            "type": "boolean",
            "description": "Present (true) while the grid reading is missing and the fail-safe holds",
        },
    },
    ("chargers_power_w", "storage_power_w"),
)
