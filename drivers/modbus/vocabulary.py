"""The capability names a profile may fill, with the unit each name promises.

Names are the unified model's (gateway/foundation/model/records.py), read from the records'
declared values: units in the name, load convention for power. Phase values are
`l1_power_w`, `l2_current_a`, ... and land in `MeterTelemetry.phases`.
"""

from __future__ import annotations

from gateway.foundation.model.fields import measured_fields
from gateway.foundation.model.records import MeterTelemetry, PhaseValues, StorageTelemetry

__all__ = [
    "IDENTITY_FIELDS",
    "METER_FIELDS",
    "PHASES",
    "PHASE_FIELDS",
    "STORAGE_FIELDS",
    "UNIT_OF_SUFFIX",
    "unit_of",
]

STORAGE_FIELDS = measured_fields(StorageTelemetry)
PHASES = ("l1", "l2", "l3")
PHASE_FIELDS = measured_fields(PhaseValues)
METER_FIELDS = (
    *measured_fields(MeterTelemetry),
    *(f"{ph}_{f}" for ph in PHASES for f in PHASE_FIELDS),
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
