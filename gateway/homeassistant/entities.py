"""Which Home Assistant entities each device kind gets: one declarative table per kind.

Each row names the JSON field it reads on the gateway's own topics, and HA's device class,
unit and state class for it (https://www.home-assistant.io/integrations/sensor/#device-class,
units as HA expects them for that class). Energy counters are `total_increasing` so they can
feed HA's energy dashboard; a meter reset reads as a new cycle, as HA documents it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "CHARGER_ENTITIES",
    "EVSE_ENTITIES",
    "METER_ENTITIES",
    "SITE_ENTITIES",
    "STORAGE_ENTITIES",
    "Entity",
]

Leaf = Literal["telemetry", "state"]


@dataclass(frozen=True, slots=True)
class Entity:
    key: str
    """Suffix of the entity's object id and unique id; stable, never renamed."""
    name: str
    field: str
    """JSON field on the state or telemetry topic (`evses.status` reads the EVSE's status)."""
    leaf: Leaf = "telemetry"
    component: Literal["sensor", "binary_sensor"] = "sensor"
    device_class: str | None = None
    unit: str | None = None
    state_class: str | None = None
    diagnostic: bool = False
    enabled_by_default: bool = True


def _power(key: str = "power", name: str = "Power", field: str = "power_w") -> Entity:
    return Entity(key, name, field, device_class="power", unit="W", state_class="measurement")


def _energy(key: str, name: str, field: str) -> Entity:
    return Entity(
        key, name, field, device_class="energy", unit="Wh", state_class="total_increasing"
    )


_CONNECTED = Entity(
    "connected",
    "Connected",
    "connected",
    leaf="state",
    component="binary_sensor",
    device_class="connectivity",
    diagnostic=True,
)
_VOLTAGE = Entity(
    "voltage", "Voltage", "voltage_v", device_class="voltage", unit="V", state_class="measurement"
)
_CURRENT = Entity(
    "current", "Current", "current_a", device_class="current", unit="A", state_class="measurement"
)
_TEMPERATURE = Entity(
    "temperature",
    "Temperature",
    "temperature_c",
    device_class="temperature",
    unit="°C",
    state_class="measurement",
    diagnostic=True,
)
_FREQUENCY = Entity(
    "frequency",
    "Frequency",
    "frequency_hz",
    device_class="frequency",
    unit="Hz",
    state_class="measurement",
    enabled_by_default=False,
)

CHARGER_ENTITIES: tuple[Entity, ...] = (_CONNECTED,)
"""The charge point as a whole (its EVSEs are devices of their own, via this one)."""

EVSE_ENTITIES: tuple[Entity, ...] = (
    Entity("status", "Status", "evses.status", leaf="state"),
    _power(),
    _energy("energy", "Energy", "energy_wh"),
    _CURRENT,
    _VOLTAGE,
    Entity(
        "ev_soc",
        "EV battery",
        "soc_pct",
        device_class="battery",
        unit="%",
        state_class="measurement",
    ),
    _TEMPERATURE,
)

STORAGE_ENTITIES: tuple[Entity, ...] = (
    _CONNECTED,
    _power(),
    Entity(
        "soc", "Battery", "soc_pct", device_class="battery", unit="%", state_class="measurement"
    ),
    Entity(
        "soh", "State of health", "soh_pct", unit="%", state_class="measurement", diagnostic=True
    ),
    _VOLTAGE,
    _CURRENT,
    _TEMPERATURE,
    _energy("energy_charged", "Energy charged", "energy_charged_wh"),
    _energy("energy_discharged", "Energy discharged", "energy_discharged_wh"),
    Entity("mode", "Mode", "mode", leaf="state"),
)

METER_ENTITIES: tuple[Entity, ...] = (
    _CONNECTED,
    _power(),
    _energy("energy_import", "Energy imported", "energy_wh"),
    _energy("energy_export", "Energy exported", "energy_export_wh"),
    _VOLTAGE,
    _CURRENT,
    _FREQUENCY,
)

SITE_ENTITIES: tuple[Entity, ...] = (
    _power("grid_power", "Grid power", "grid_power_w"),
    _power("chargers_power", "Chargers power", "chargers_power_w"),
    _power("storage_power", "Storage power", "storage_power_w"),
    _power("import_limit", "Grid import limit", "import_limit_w"),
)
