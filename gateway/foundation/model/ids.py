"""Identifiers that travel through the whole gateway; NewTypes keep them from being mixed up."""

from __future__ import annotations

from enum import StrEnum
from typing import NewType

__all__ = ["ChargerId", "DeviceId", "DeviceKind"]

ChargerId = NewType("ChargerId", str)
"""A charge point's identity, as in its OCPP URL and `ocpp.chargers[].id`."""

DeviceId = NewType("DeviceId", str)
"""A Modbus device's identity, as in `modbus.devices[].id`."""


class DeviceKind(StrEnum):
    """The second-level MQTT topic segment (`P/{kind}/{id}/...`)."""

    CHARGER = "charger"
    STORAGE = "storage"
    METER = "meter"
    SITE = "site"
