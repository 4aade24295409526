"""Registry of driver kinds: which module builds a driver, and when the config asks for one.

Each driver module exposes `create_driver(context: DriverContext) -> Driver`. Modules are
imported only when the config enables them, so a site without chargers never loads OCPP.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from gateway.config.models import Config
from gateway.driver_api import Driver, DriverContext

__all__ = ["DRIVER_KINDS", "DriverKind", "build_drivers"]


@dataclass(frozen=True)
class DriverKind:
    name: str
    module: str
    enabled: Callable[[Config], bool]


DRIVER_KINDS: tuple[DriverKind, ...] = (
    DriverKind("ocpp", "drivers.ocpp", lambda c: c.ocpp.enabled),
    DriverKind("modbus", "drivers.modbus", lambda c: bool(c.modbus.devices)),
)


def build_drivers(context: DriverContext) -> list[Driver]:
    drivers: list[Driver] = []
    for kind in DRIVER_KINDS:
        if kind.enabled(context.config):
            module = importlib.import_module(kind.module)
            drivers.append(module.create_driver(context))
    return drivers
