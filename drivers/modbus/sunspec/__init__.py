"""SunSpec: point tables from the spec, discovery of a device's map, and setpoint controls."""

from drivers.modbus.sunspec.discovery import (
    DiscoveryError,
    ModelLocation,
    SunSpecMap,
    discover,
    parse_chain,
)
from drivers.modbus.sunspec.models import MODELS, SUNS_MARKER, SUNSPEC_BASES
from drivers.modbus.sunspec.profile import build_sunspec_profile

__all__ = [
    "MODELS",
    "SUNSPEC_BASES",
    "SUNS_MARKER",
    "DiscoveryError",
    "ModelLocation",
    "SunSpecMap",
    "build_sunspec_profile",
    "discover",
    "parse_chain",
]
