"""Telemetry values declared once, on the record: the names, in order, and what each means.

A value is declared with `measured(doc)` on its record (`StorageTelemetry.soc_pct`,
`ChargerTelemetry.power_offered_w`, ...). The Modbus vocabulary, the drivers' telemetry
builders (Modbus, and the OCPP meter translation), the MQTT payload builders and the API
schemas all read the list from here at import, so adding a value to a record is the whole
change (plus, for a charger, the OCPP measurand that feeds it).
`{load}` in a doc stands for the load-convention sentence of the API docs.
"""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["measured", "measured_docs", "measured_fields"]


def measured(doc: str) -> Any:
    """A dataclass field for a measured value: None when the device did not report it."""
    return dataclasses.field(default=None, metadata={"doc": doc})


def measured_fields(record: type) -> tuple[str, ...]:
    """The record's measured values, in declaration order."""
    return tuple(measured_docs(record))


def measured_docs(record: type) -> dict[str, str]:
    """Each measured value's description, in declaration order."""
    return {
        f.name: f.metadata["doc"] for f in dataclasses.fields(record) if "doc" in f.metadata
    }
