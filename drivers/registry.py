"""Registry of driver kinds: which module builds a driver, when the config asks for one, and
what each driver checks in a config before anything starts.

Each driver module exposes `create_driver(context: DriverContext) -> Driver`. Modules are
imported only when the config enables them, so a site without chargers never loads OCPP.
Config checks are I/O-free modules, imported the same way when their driver is enabled.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from gateway.foundation.config import Config
from gateway.foundation.driver_api import Driver, DriverContext
from gateway.foundation.errors import ConfigProblem

__all__ = ["DRIVER_KINDS", "DriverKind", "build_drivers", "check_config"]


@dataclass(frozen=True)
class DriverKind:
    name: str
    module: str
    enabled: Callable[[Config], bool]
    check_module: str | None = None
    """An I/O-free module with `check_config(config) -> Iterator[ConfigProblem]`."""


DRIVER_KINDS: tuple[DriverKind, ...] = (
    DriverKind("ocpp", "drivers.ocpp.driver", lambda c: c.ocpp.enabled),
    DriverKind(
        "modbus",
        "drivers.modbus.driver",
        lambda c: bool(c.modbus.devices),
        check_module="drivers.modbus.config_check",
    ),
)


def check_config(config: Config) -> Iterator[ConfigProblem]:
    """Every driver's own config problems (a `gateway.config.ConfigCheck`)."""
    for kind in DRIVER_KINDS:
        if kind.check_module is not None and kind.enabled(config):
            module = importlib.import_module(kind.check_module)
            yield from module.check_config(config)


def build_drivers(context: DriverContext) -> list[Driver]:
    drivers: list[Driver] = []
    for kind in DRIVER_KINDS:
        if kind.enabled(context.config):
            module = importlib.import_module(kind.module)
            drivers.append(module.create_driver(context))
    return drivers
