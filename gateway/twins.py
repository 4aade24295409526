"""The latest record of each kind per device: what `status`, health and the controller read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway.foundation.model import (
    ChargerState,
    ChargerTelemetry,
    DeviceKind,
    MeterState,
    MeterTelemetry,
    Record,
    SiteTelemetry,
    StorageState,
    StorageTelemetry,
)

__all__ = ["DeviceTwin", "DeviceTwins"]


@dataclass
class DeviceTwin:
    kind: DeviceKind
    device_id: str
    state: Any = None
    telemetry: dict[int, Any] = field(default_factory=dict)
    """Latest telemetry record, by EVSE for chargers (0 for other devices)."""


_KEYS: dict[type, tuple[DeviceKind, str]] = {
    ChargerState: (DeviceKind.CHARGER, "state"),
    ChargerTelemetry: (DeviceKind.CHARGER, "telemetry"),
    StorageState: (DeviceKind.STORAGE, "state"),
    StorageTelemetry: (DeviceKind.STORAGE, "telemetry"),
    MeterState: (DeviceKind.METER, "state"),
    MeterTelemetry: (DeviceKind.METER, "telemetry"),
    SiteTelemetry: (DeviceKind.SITE, "telemetry"),
}


class DeviceTwins:
    def __init__(self) -> None:
        self._twins: dict[tuple[DeviceKind, str], DeviceTwin] = {}

    def update(self, record: Record) -> None:
        key = _KEYS.get(type(record))
        if key is None:
            return
        kind, slot = key
        device_id = str(getattr(record, "charger_id", None) or getattr(record, "device_id", "site"))
        twin = self._twins.get((kind, device_id))
        if twin is None:
            twin = self._twins[(kind, device_id)] = DeviceTwin(kind, device_id)
        if slot == "state":
            twin.state = record
        else:
            twin.telemetry[getattr(record, "evse", 0)] = record

    def get(self, kind: DeviceKind, device_id: str) -> DeviceTwin | None:
        return self._twins.get((kind, device_id))

    def of_kind(self, kind: DeviceKind) -> list[DeviceTwin]:
        return [twin for (k, _), twin in self._twins.items() if k is kind]
