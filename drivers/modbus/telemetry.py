"""Decoded capability values → unified-model records (one declarative table, no branches)."""

from __future__ import annotations

from collections.abc import Mapping

from drivers.modbus.vocabulary import PHASES
from gateway.foundation.model import DeviceId, MeterTelemetry, PhaseValues, StorageTelemetry

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
    return StorageTelemetry(
        device_id=device_id,
        power_w=v.get("power_w"),
        soc_pct=v.get("soc_pct"),
        soh_pct=v.get("soh_pct"),
        voltage_v=v.get("voltage_v"),
        current_a=v.get("current_a"),
        temperature_c=v.get("temperature_c"),
        max_charge_w=v.get("max_charge_w"),
        max_discharge_w=v.get("max_discharge_w"),
        frequency_hz=v.get("frequency_hz"),
        energy_charged_wh=v.get("energy_charged_wh"),
        energy_discharged_wh=v.get("energy_discharged_wh"),
    )


def meter_telemetry(device_id: DeviceId, values: Mapping[str, float | str]) -> MeterTelemetry:
    v = plausible(values)
    phases: dict[str, PhaseValues] = {}
    for ph in PHASES:
        phase = PhaseValues(
            power_w=v.get(f"{ph}_power_w"),
            current_a=v.get(f"{ph}_current_a"),
            voltage_v=v.get(f"{ph}_voltage_v"),
            energy_wh=v.get(f"{ph}_energy_wh"),
        )
        if phase != PhaseValues():
            phases[ph.upper()] = phase
    return MeterTelemetry(
        device_id=device_id,
        power_w=v.get("power_w"),
        energy_wh=v.get("energy_wh"),
        energy_export_wh=v.get("energy_export_wh"),
        frequency_hz=v.get("frequency_hz"),
        voltage_v=v.get("voltage_v"),
        current_a=v.get("current_a"),
        phases=phases or None,
    )
