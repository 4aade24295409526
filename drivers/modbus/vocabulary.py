"""The capability names a profile may fill, with the unit each name promises.

Names follow the unified model (gateway/model/records.py): units in the name, load
convention for power. Phase values are `l1_power_w`, `l2_current_a`, ... and land in
`MeterTelemetry.phases`.
"""

from __future__ import annotations

__all__ = [
    "IDENTITY_FIELDS",
    "METER_FIELDS",
    "PHASES",
    "STORAGE_FIELDS",
    "UNIT_OF_SUFFIX",
    "unit_of",
]

STORAGE_FIELDS = (
    "power_w",
    "soc_pct",
    "soh_pct",
    "voltage_v",
    "current_a",
    "temperature_c",
    "max_charge_w",
    "max_discharge_w",
    "frequency_hz",
    "energy_charged_wh",
    "energy_discharged_wh",
)
PHASES = ("l1", "l2", "l3")
_PHASE_FIELDS = ("power_w", "current_a", "voltage_v", "energy_wh")
METER_FIELDS = (
    "power_w",
    "energy_wh",
    "energy_export_wh",
    "frequency_hz",
    "voltage_v",
    "current_a",
    *(f"{ph}_{f}" for ph in PHASES for f in _PHASE_FIELDS),
)
IDENTITY_FIELDS = ("manufacturer", "model", "serial", "firmware")

UNIT_OF_SUFFIX = {
    "_w": "W",
    "_wh": "Wh",
    "_pct": "%",
    "_v": "V",
    "_a": "A",
    "_c": "°C",
    "_hz": "Hz",
    "_s": "s",
    "_min": "min",
}


def unit_of(name: str) -> str | None:
    """The unit a name promises by its suffix (`power_w` → W), or None for plain values."""
    for suffix, unit in sorted(UNIT_OF_SUFFIX.items(), key=lambda kv: -len(kv[0])):
        if name.endswith(suffix):
            return unit
    return None
