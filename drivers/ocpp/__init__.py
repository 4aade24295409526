"""OCPP central system for 1.6J, 2.0.1 and 2.1 charge points (see docs/ocpp.md)."""

from __future__ import annotations

from drivers.ocpp.driver import OcppDriver
from gateway.driver_api import DriverContext

__all__ = ["OcppDriver", "create_driver"]


def create_driver(context: DriverContext) -> OcppDriver:
    return OcppDriver(context)
