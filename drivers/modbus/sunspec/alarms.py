"""Alarm bitfields of the SunSpec models PileBridge reads, as names for the retained state.

701 Alrm (DER AC measurement, bitfield32) and 802 Evt1 (battery events, bitfield32), bit
numbers as the model definitions give them. Names are lower-case versions of the spec's.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["ALARM_TABLES", "alarm_names"]

ALARMS_701 = (
    "ground_fault", "dc_over_volt", "ac_disconnect", "dc_disconnect", "grid_disconnect",
    "cabinet_open", "manual_shutdown", "over_temp", "over_frequency", "under_frequency",
    "ac_over_volt", "ac_under_volt", "blown_string_fuse", "under_temp", "memory_loss",
    "hw_test_failure", "manufacturer_alrm",
)  # fmt: skip

EVT1_802 = (
    "communication_error", "over_temp_alarm", "over_temp_warning", "under_temp_alarm",
    "under_temp_warning", "over_charge_current_alarm", "over_charge_current_warning",
    "over_discharge_current_alarm", "over_discharge_current_warning", "over_volt_alarm",
    "over_volt_warning", "under_volt_alarm", "under_volt_warning", "under_soc_min_alarm",
    "under_soc_min_warning", "over_soc_max_alarm", "over_soc_max_warning",
    "voltage_imbalance_warning", "temperature_imbalance_alarm", "temperature_imbalance_warning",
    "contactor_error", "fan_error", "ground_fault", "open_door_error",
    "current_imbalance_warning", "other_alarm", "other_warning", "reserved_1",
    "configuration_alarm", "configuration_warning",
)  # fmt: skip

ALARM_TABLES: dict[str, tuple[str, ...]] = {
    "alarm_bits_701": ALARMS_701,
    "alarm_bits_802": EVT1_802,
}
"""Signal name → bit names (bit 0 first)."""


def alarm_names(values: Mapping[str, float | str]) -> tuple[str, ...]:
    """Every set bit of every alarm signal that has a value, as sorted unique names."""
    names: set[str] = set()
    for signal_name, table in ALARM_TABLES.items():
        raw = values.get(signal_name)
        if not isinstance(raw, int | float):
            continue
        bits = int(raw)
        for bit, name in enumerate(table):
            if bits >> bit & 1:
                names.add(name)
    return tuple(sorted(names))
