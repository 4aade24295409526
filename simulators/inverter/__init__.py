"""Battery-inverter and grid-meter Modbus TCP simulator speaking SunSpec.

Profiles: ``sunspec`` (models 1, 701, 704, 713, 802), ``sunspec-legacy`` (1, 103, 124) and
``meter`` (1, 203), or any device described by a register-map file (``MappedSimulator``).
See docs/simulators.md for the register layout and sign conventions.
"""

from .battery import Battery, BatteryParams
from .faults import GARBAGE_MODES, Faults
from .image import SUNS_MARKER, RegisterImage
from .meter import MeterDevice, daily_curve
from .simulator import InverterSimulator, MappedSimulator, MeterSimulator, ModbusSimulator
from .storage import PROFILES, StorageDevice

__all__ = [
    "GARBAGE_MODES",
    "PROFILES",
    "SUNS_MARKER",
    "Battery",
    "BatteryParams",
    "Faults",
    "InverterSimulator",
    "MappedSimulator",
    "MeterDevice",
    "MeterSimulator",
    "ModbusSimulator",
    "RegisterImage",
    "StorageDevice",
    "daily_curve",
]
