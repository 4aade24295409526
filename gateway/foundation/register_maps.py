"""Where register-map files are looked up; the map format itself belongs to drivers/modbus."""

from __future__ import annotations

from pathlib import Path

__all__ = ["REGISTER_MAP_DIRS", "find_register_map"]

_REPO_CONFIG = Path(__file__).resolve().parents[2] / "config" / "registers"

REGISTER_MAP_DIRS: tuple[Path, ...] = (Path("/etc/pilebridge/registers"), _REPO_CONFIG)
"""Searched in order for a relative `profile:` name (with or without `.yaml`)."""


def find_register_map(profile: str) -> Path | None:
    candidate = Path(profile)
    if candidate.is_absolute():
        return candidate if candidate.is_file() else None
    names = [profile] if profile.endswith((".yaml", ".yml")) else [f"{profile}.yaml", profile]
    for folder in REGISTER_MAP_DIRS:
        for name in names:
            path = folder / name
            if path.is_file():
                return path
    return None
