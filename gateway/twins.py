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
    version: int = 0
    """The twins' version at its last record: what a reader derived from it holds until this
    moves."""


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
        self._by_kind: dict[DeviceKind, dict[str, DeviceTwin]] = {k: {} for k in DeviceKind}
        self._recent: dict[DeviceKind, dict[str, DeviceTwin]] = {k: {} for k in DeviceKind}
        """Per kind, least recently updated first."""
        self._membership: dict[DeviceKind, int] = dict.fromkeys(DeviceKind, 0)
        self.version = 0
        """Moves with every record."""

    def update(self, record: Record) -> None:
        key = _KEYS.get(type(record))
        if key is None:
            return
        kind, slot = key
        device_id = str(getattr(record, "charger_id", None) or getattr(record, "device_id", "site"))
        twins = self._by_kind[kind]
        twin = twins.get(device_id)
        if twin is None:
            twin = twins[device_id] = DeviceTwin(kind, device_id)
            self._membership[kind] += 1
        self.version += 1
        twin.version = self.version
        recent = self._recent[kind]
        recent.pop(device_id, None)
        recent[device_id] = twin
        if slot == "state":
            if getattr(twin.state, "connected", None) != getattr(record, "connected", None):
                self._membership[kind] += 1
            twin.state = record
        else:
            twin.telemetry[getattr(record, "evse", 0)] = record

    def get(self, kind: DeviceKind, device_id: str) -> DeviceTwin | None:
        return self._by_kind[kind].get(device_id)

    def of_kind(self, kind: DeviceKind) -> list[DeviceTwin]:
        return list(self._by_kind[kind].values())

    def membership_version(self, kind: DeviceKind) -> int:
        """Moves when a device of `kind` appears, connects or disconnects: a list of who is
        online holds until it does."""
        return self._membership[kind]

    def updated_since(self, kind: DeviceKind, version: int) -> list[DeviceTwin]:
        """The twins of `kind` with a record after `version` (the twins' version then), newest
        first: what changed between two looks without walking thousands of twins."""
        out = []
        for twin in reversed(self._recent[kind].values()):
            if twin.version <= version:
                break
            out.append(twin)
        return out
