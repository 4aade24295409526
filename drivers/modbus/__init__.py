"""Battery inverters and meters over Modbus TCP: SunSpec discovery or register-map files.

Pure core: `registers` (types, sentinels), `signals` (scale factors), `blocks` (coalesced
reads), `sunspec/` (model tables, discovery, 704/124 controls), `register_map` (YAML maps),
`setpoint` (clamping). Thin shell: `link` (pymodbus client), `device` (poll task),
`storage` (capability object with leases), `driver` (`create_driver`, for drivers.registry).
The package itself imports nothing, so the simulators can load the register-map format
without the pymodbus shell. See docs/modbus.md.
"""
