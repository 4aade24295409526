"""Publishes Home Assistant discovery through the gateway's MQTT link, and keeps it current.

Discovery goes out retained on every connect, again whenever Home Assistant announces
`online` on `<discovery_prefix>/status` (its birth message: HA may have lost its retained
state), and for a device whenever its identity or EVSEs change. Configs are not sent through
the outbox: they carry no `seq`, and the latest one is all that matters.
"""

from __future__ import annotations

import asyncio

import aiomqtt
import structlog

from gateway import __version__, wire
from gateway.foundation.config import Config
from gateway.foundation.model import (
    ChargerState,
    ChargerTelemetry,
    DeviceKind,
    MeterState,
    Record,
    StorageState,
)
from gateway.homeassistant.discovery import DiscoveryContext, HaDevice, discovery_messages
from gateway.mqtt.link import MqttLink
from gateway.topics import Topics
from gateway.twins import DeviceTwins

__all__ = ["DiscoveryPublisher", "ha_devices"]

log = structlog.get_logger("gateway.homeassistant")


def ha_devices(config: Config, twins: DeviceTwins) -> list[HaDevice]:
    """Configured devices (and chargers admitted since), with what their state tells."""
    devices: list[HaDevice] = [HaDevice(DeviceKind.SITE, config.site.id)]
    charger_ids = [c.id for c in config.ocpp.chargers]
    charger_ids += [
        t.device_id for t in twins.of_kind(DeviceKind.CHARGER) if t.device_id not in charger_ids
    ]
    for charger_id in charger_ids:
        twin = twins.get(DeviceKind.CHARGER, charger_id)
        state = twin.state if twin else None
        evses = set(state.evses) if isinstance(state, ChargerState) else set()
        evses |= set(twin.telemetry) if twin else set()
        devices.append(
            HaDevice(
                DeviceKind.CHARGER,
                charger_id,
                evses=tuple(sorted(evses - {0})),
                manufacturer=state.vendor if isinstance(state, ChargerState) else None,
                model=state.model if isinstance(state, ChargerState) else None,
                sw_version=state.firmware if isinstance(state, ChargerState) else None,
                serial=state.serial if isinstance(state, ChargerState) else None,
            )
        )
    for device in config.modbus.devices:
        kind = DeviceKind.STORAGE if device.kind == "storage" else DeviceKind.METER
        twin = twins.get(kind, device.id)
        identity = dict(getattr(twin.state, "identity", None) or {}) if twin else {}
        devices.append(
            HaDevice(
                kind,
                device.id,
                manufacturer=_str(identity.get("manufacturer")),
                model=_str(identity.get("model")),
                sw_version=_str(identity.get("firmware") or identity.get("version")),
                serial=_str(identity.get("serial")),
            )
        )
    return devices


def _str(value: object) -> str | None:
    return None if value in (None, "") else str(value)


class DiscoveryPublisher:
    """A supervised component: waits for a reason to publish, then publishes what changed."""

    def __init__(self, config: Config, topics: Topics, link: MqttLink, twins: DeviceTwins) -> None:
        self._config = config
        self._link = link
        self._twins = twins
        self._context = DiscoveryContext(topics, config.homeassistant.discovery_prefix, __version__)
        self._status_topic = f"{config.homeassistant.discovery_prefix}/status"
        self._published: dict[str, bytes] = {}
        self._known_evses: dict[str, set[int]] = {}
        self._wake = asyncio.Event()
        self._force = True
        self.publishes = 0
        link.subscribe_extra(self._status_topic, self._on_ha_status)
        link.on_connection_change(self._on_connection)

    def on_record(self, record: Record) -> None:
        """Recorder listener: a new EVSE or a device identity means new discovery."""
        if isinstance(record, ChargerTelemetry):
            evses = self._known_evses.setdefault(record.charger_id, set())
            if record.evse not in evses:
                evses.add(record.evse)
                self._wake.set()
        elif isinstance(record, ChargerState | StorageState | MeterState):
            self._wake.set()

    def _on_connection(self, connected: bool) -> None:
        if connected:
            self._force = True
            self._wake.set()

    async def _on_ha_status(self, topic: str, payload: bytes) -> None:
        if payload.strip().lower() == b"online":
            log.info("homeassistant_online", topic=topic)
            self._force = True
            self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self._link.connected:
                continue  # the next connect wakes us with force
            force, self._force = self._force, False
            try:
                await self.publish_all(force=force)
            except aiomqtt.MqttError as exc:
                log.warning("homeassistant_discovery_not_sent", error=str(exc))
                self._force = True  # the reconnect will wake us

    async def publish_all(self, *, force: bool = False) -> int:
        """Publish every config that changed (all of them with `force`); returns the count."""
        sent = 0
        for device in ha_devices(self._config, self._twins):
            for topic, payload in discovery_messages(device, self._context):
                data = wire.dumps(payload, sort_keys=True)
                if not force and self._published.get(topic) == data:
                    continue
                await self._link.publish_direct(topic, data, retain=True, qos=1)
                self._published[topic] = data
                sent += 1
        if sent:
            self.publishes += 1
            log.info("homeassistant_discovery_sent", configs=sent, forced=force)
        return sent
