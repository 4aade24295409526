"""What `check-config` learns from the Modbus driver: every register map named exists and is valid.

I/O-free apart from reading the map files: the application calls it through
`drivers.registry.check_config` before anything connects, so a technician learns of a bad
address or unit now, not at 3 a.m.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from drivers.modbus.register_map import RegisterMapError, load_register_map
from gateway.foundation.config import Config
from gateway.foundation.errors import ConfigProblem
from gateway.foundation.register_maps import find_register_map

__all__ = ["check_config"]


def check_config(config: Config) -> Iterator[ConfigProblem]:
    for i, device in enumerate(config.modbus.devices):
        if device.profile == "sunspec":
            continue
        path = find_register_map(device.profile)
        key = f"modbus.devices[{i}].profile"
        if path is None:
            yield ConfigProblem(
                key,
                f"register map {device.profile!r} not found (use 'sunspec' or a file under config/registers/)",
            )
            continue
        yield from _check_register_map(key, path, device.kind)


def _check_register_map(key: str, path: Path, kind: str) -> Iterator[ConfigProblem]:
    """The map file's content must be valid too: address, type, scale, units, control points."""
    try:
        spec = load_register_map(path)
    except RegisterMapError as exc:
        for problem in exc.problems:
            yield ConfigProblem(key, f"{path.name}: {problem}")
        return
    if spec.kind != kind:
        yield ConfigProblem(key, f"{path.name} describes a {spec.kind}, the device is a {kind}")
