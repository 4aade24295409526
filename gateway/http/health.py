"""The `/healthz` document: what a technician or a monitor needs to know at a glance.

`status` is `ok`, `degraded` (the broker or a device is not connected, or records went to
dead letters: the gateway still works and buffers) or `down` (a supervised component is not
running, or the outbox cannot write to disk). Only `down` answers
HTTP 503, so a load balancer or a watchdog script acts on real failures, not on a charger
that went home for the night. `warnings` are config choices that weaken security (chargers
without passwords on a network listener, short passwords): they do not change the status. Device values are the same JSON bodies that go to MQTT.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway import __version__
from gateway.foundation.charger_credentials import credential_warnings
from gateway.foundation.clock import Clock, format_ts
from gateway.foundation.config import Config
from gateway.foundation.model import (
    ChargerConfigReport,
    ChargerEvent,
    ChargerState,
    ChargerTelemetry,
    DeviceKind,
    MeterState,
    MeterTelemetry,
    Record,
    SiteTelemetry,
    StorageState,
    StorageTelemetry,
    TransactionEvent,
)
from gateway.mqtt.link import MqttLink
from gateway.outbox import Outbox
from gateway.payloads import to_message
from gateway.supervisor import Supervisor
from gateway.topics import Topics
from gateway.twins import DeviceTwin, DeviceTwins

__all__ = ["HealthReporter", "HealthSources"]


@dataclass(frozen=True)
class HealthSources:
    """What the health document reads, and nothing else of the gateway."""

    config: Config
    clock: Clock
    started_at: float
    topics: Topics
    twins: DeviceTwins
    supervisor: Supervisor
    outbox: Outbox
    link: MqttLink | None

_GROUPS = {
    "chargers": DeviceKind.CHARGER,
    "storage": DeviceKind.STORAGE,
    "meters": DeviceKind.METER,
}


class HealthReporter:
    """Builds the health document from the supervisor's components, link, outbox and twins.

    Subscribe `on_record` to the recorder: it notes when each device was last heard of.
    """

    def __init__(self, sources: HealthSources) -> None:
        self._sources = sources
        self._updated: dict[tuple[DeviceKind, str], float] = {}
        self._now = sources.clock.time

    def on_record(self, record: Record) -> None:
        kind = _KINDS.get(type(record))
        if kind is None:
            return
        device_id = getattr(record, "charger_id", None) or getattr(record, "device_id", "site")
        self._updated[(kind, device_id if type(device_id) is str else str(device_id))] = (
            self._now()
        )

    def document(self) -> tuple[int, dict[str, Any]]:
        """(HTTP status, document)."""
        gw = self._sources
        now = gw.clock.time()
        components = [
            {
                "name": c.name,
                "running": c.running,
                "restarts": c.restarts,
                "last_error": c.last_error,
            }
            for c in gw.supervisor.components
        ]
        problems = [f"component {c['name']} is not running" for c in components if not c["running"]]
        down = bool(problems)
        broker = gw.link.broker if gw.link else None
        mqtt = {
            "enabled": gw.config.mqtt.enabled,
            "host": broker.host if broker else gw.config.mqtt.brokers[0][0],
            "port": broker.port if broker else gw.config.mqtt.brokers[0][1],
            "protocol": broker.protocol if broker else None,
            "connected": gw.link.connected if gw.link else False,
            "connects": gw.link.connects if gw.link else 0,
        }
        if gw.config.mqtt.enabled and not mqtt["connected"]:
            problems.append("not connected to the MQTT broker (records wait in the outbox)")
        outbox = gw.outbox
        if outbox.failing:
            down = True
            problems.append(
                f"outbox cannot store records for {outbox.failing_for_s():.0f} s: {outbox.failing}"
            )
        if outbox.dead_letters:
            problems.append(
                f"{outbox.dead_letters} record(s) the broker cannot take moved to the dead-letter"
                f" table of {outbox.path}"
            )
        if gw.supervisor.watchdog_starved:
            problems.append(f"systemd watchdog not fed: {gw.supervisor.watchdog_starved}")
        devices = self._devices(now)
        for entries in devices.values():
            problems += [
                f"{d['kind']} {d['id']} is not connected"
                for d in entries
                if d["connected"] is False
            ]
        site = gw.twins.get(DeviceKind.SITE, "site")  # the twins' key for the site
        site_telemetry = site.telemetry.get(0) if site else None
        document = {
            "status": "down" if down else ("degraded" if problems else "ok"),
            "problems": problems,
            "warnings": credential_warnings(gw.config.ocpp),
            "version": __version__,
            "site_id": gw.config.site.id,
            "started_at": format_ts(gw.started_at),
            "uptime_s": round(max(0.0, now - gw.started_at), 3),
            "components": components,
            "mqtt": mqtt,
            "outbox": {
                "depth": outbox.depth,
                "bytes": outbox.bytes,
                "dropped": outbox.dropped,
                "dead_letters": outbox.dead_letters,
                "refused": outbox.refused,
                "truncated": outbox.truncated,
                "withdrawn": outbox.withdrawn,
                "last_seq": outbox.last_seq,
                "failing": outbox.failing,
            },
            "devices": devices,
            "site": self._body(site_telemetry),
        }
        return (503 if down else 200), document

    def _devices(self, now: float) -> dict[str, list[dict[str, Any]]]:
        cfg = self._sources.config
        wanted: dict[str, list[tuple[DeviceKind, str]]] = {
            "chargers": [(DeviceKind.CHARGER, c.id) for c in cfg.ocpp.chargers],
            "storage": [
                (DeviceKind.STORAGE, d.id) for d in cfg.modbus.devices if d.kind == "storage"
            ],
            "meters": [(DeviceKind.METER, d.id) for d in cfg.modbus.devices if d.kind == "meter"],
        }
        twins = self._sources.twins
        for key, kind in _GROUPS.items():
            known = {device_id for _, device_id in wanted[key]}
            # Devices not in the config (chargers admitted with allow_unknown_chargers) too.
            wanted[key] += [
                (kind, t.device_id) for t in twins.of_kind(kind) if t.device_id not in known
            ]
        return {
            key: [
                self._device(kind, device_id, twins.get(kind, device_id), now)
                for kind, device_id in ids
            ]
            for key, ids in wanted.items()
        }

    def _device(
        self, kind: DeviceKind, device_id: str, twin: DeviceTwin | None, now: float
    ) -> dict[str, Any]:
        state = twin.state if twin else None
        updated = self._updated.get((kind, device_id))
        return {
            "id": device_id,
            "kind": kind.value,
            "connected": None if state is None else bool(state.connected),
            "updated_at": None if updated is None else format_ts(updated),
            "age_s": None if updated is None else round(max(0.0, now - updated), 3),
            "state": self._body(state),
            "telemetry": {
                str(evse): self._body(record) for evse, record in sorted(twin.telemetry.items())
            }
            if twin
            else {},
        }

    def _body(self, record: Record | None) -> dict[str, Any] | None:
        if record is None:
            return None
        return to_message(record, self._sources.topics).body


_KINDS: dict[type, DeviceKind] = {
    ChargerState: DeviceKind.CHARGER,
    ChargerTelemetry: DeviceKind.CHARGER,
    TransactionEvent: DeviceKind.CHARGER,
    ChargerEvent: DeviceKind.CHARGER,
    ChargerConfigReport: DeviceKind.CHARGER,
    StorageState: DeviceKind.STORAGE,
    StorageTelemetry: DeviceKind.STORAGE,
    MeterState: DeviceKind.METER,
    MeterTelemetry: DeviceKind.METER,
    SiteTelemetry: DeviceKind.SITE,
}
