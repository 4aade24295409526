"""Decoded capability values → unified-model records (one declarative table, no branches)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drivers.modbus.vocabulary import PHASE_FIELDS, PHASES, STORAGE_FIELDS
from gateway.foundation.model import DeviceId, MeterTelemetry, PhaseValues, StorageTelemetry
from gateway.foundation.model.fields import measured_fields

__all__ = ["meter_telemetry", "plausible", "storage_telemetry"]

_PERCENT = ("soc_pct", "soh_pct")


def plausible(values: Mapping[str, float | str]) -> dict[str, float]:
    """Numbers only, and percentages inside 0-100 (a garbage reply must not read as SoC 6553 %)."""
    out: dict[str, float] = {}
    for name, value in values.items():
        if not isinstance(value, int | float):
            continue
        if name in _PERCENT and not 0.0 <= value <= 100.0:
            continue
        if name.startswith("max_") and value < 0:
            continue
        out[name] = float(value)
    return out


def storage_telemetry(device_id: DeviceId, values: Mapping[str, float | str]) -> StorageTelemetry:
    v = plausible(values)
    measured: dict[str, Any] = {name: v.get(name) for name in STORAGE_FIELDS}
    return StorageTelemetry(device_id=device_id, **measured)


def meter_telemetry(device_id: DeviceId, values: Mapping[str, float | str]) -> MeterTelemetry:
    v = plausible(values)
    phases: dict[str, PhaseValues] = {}
    for ph in PHASES:
        per_phase: dict[str, Any] = {name: v.get(f"{ph}_{name}") for name in PHASE_FIELDS}
        phase = PhaseValues(**per_phase)
        if phase != PhaseValues():
            phases[ph.upper()] = phase
    measured: dict[str, Any] = {name: v.get(name) for name in _METER_VALUES}
    return MeterTelemetry(device_id=device_id, phases=phases or None, **measured)


_METER_VALUES = measured_fields(MeterTelemetry)
