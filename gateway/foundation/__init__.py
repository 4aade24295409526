"""The foundation: what every layer above may use, and the only part of `gateway` a driver or
a simulator may import.

The surface is this package's modules, each with an explicit `__all__` (import them by name,
`from gateway.foundation.clock import Clock`); this `__init__` imports nothing, so a
simulator that needs the clock does not load the config schema or the metrics registry.

- `model`: typed records, ids, device state, command request/result (units in names)
- `config`: the config schema (pydantic); `register_maps`: where map files are found
- `errors`: the error tree (config problems)
- `commands`: command payload schemas, the router drivers register handlers on, and the
  `LeaseTerms` a leased command's handler declares its holding in (`commands.leasing`)
- `driver_api`: `DriverContext` (what a driver gets), `DriverLeases` and the `Driver` protocol
- `recording`: `RecordSink`, the door through which drivers hand over records
- `leases`: the lease table (TTL, fallback; not for drivers); `clock`: injected time;
  `backoff`: retry delays
- `aio`: task helpers; `metrics`: the Prometheus registry; `logs`: structured logging set-up

It imports no driver, simulator or application module (checked by import-linter, see
pyproject.toml and docs/architecture.md).
"""
