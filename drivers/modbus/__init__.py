"""Battery inverters and meters over Modbus TCP: SunSpec discovery or register-map files.

Pure core: `registers` (types, sentinels), `signals` (scale factors), `blocks` (coalesced
reads), `sunspec/` (model tables, discovery, 704/124 controls), `register_map` (YAML maps),
`setpoint` (clamping). Thin shell: `link` (pymodbus client), `device` (poll task),
`storage` (capability object with leases), `driver`. See docs/modbus.md.
"""

from __future__ import annotations

from drivers.modbus.driver import MeterView, ModbusDriver
from drivers.modbus.storage import NotAccepted, SetpointOutcome, StorageControl
from gateway.driver_api import DriverContext

__all__ = [
    "MeterView",
    "ModbusDriver",
    "NotAccepted",
    "SetpointOutcome",
    "StorageControl",
    "create_driver",
]


def create_driver(context: DriverContext) -> ModbusDriver:
    return ModbusDriver(context)
