"""SunSpec point types: register encoding, scale factors and "not implemented" sentinels.

Source: SunSpec Information Model Specification (v1.1), section "Point types" and
"Unimplemented values". A value of ``None`` is encoded as the type's sentinel so a
reader sees exactly what a real device sends for a point it does not implement.
Values are big-endian, multi-register values most significant word first.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Final

__all__ = [
    "NOT_IMPLEMENTED",
    "Point",
    "PointValue",
    "decode_point",
    "encode_point",
    "fit_scale_factor",
    "pt",
]

PointValue = int | float | str | None

# SunSpec "not implemented" values per type (Information Model Specification, table 5).
NOT_IMPLEMENTED: Final[dict[str, int]] = {
    "int16": 0x8000,
    "uint16": 0xFFFF,
    "enum16": 0xFFFF,
    "bitfield16": 0xFFFF,
    "sunssf": 0x8000,
    "pad": 0x8000,
    "int32": 0x8000_0000,
    "uint32": 0xFFFF_FFFF,
    "enum32": 0xFFFF_FFFF,
    "bitfield32": 0xFFFF_FFFF,
    "acc16": 0,
    "acc32": 0,
    "int64": 0x8000_0000_0000_0000,
    "uint64": 0xFFFF_FFFF_FFFF_FFFF,
    "acc64": 0,
}

_SIZES: Final[dict[str, int]] = {
    "int16": 1,
    "uint16": 1,
    "enum16": 1,
    "bitfield16": 1,
    "sunssf": 1,
    "pad": 1,
    "acc16": 1,
    "int32": 2,
    "uint32": 2,
    "enum32": 2,
    "bitfield32": 2,
    "acc32": 2,
    "float32": 2,
    "int64": 4,
    "uint64": 4,
    "acc64": 4,
}

_SIGNED: Final[frozenset[str]] = frozenset({"int16", "sunssf", "int32", "int64"})


@dataclass(frozen=True, slots=True)
class Point:
    """One SunSpec point: name, type, size in registers, scale-factor point, access."""

    name: str
    type: str
    size: int
    sf: str | None = None
    writable: bool = False

    @property
    def bits(self) -> int:
        return 16 * self.size

    @property
    def signed(self) -> bool:
        return self.type in _SIGNED


def pt(name: str, type_: str, sf: str | None = None, *, rw: bool = False, size: int = 0) -> Point:
    """Shorthand for the model tables; ``size`` is needed only for strings."""
    if type_ == "string":
        if size <= 0:
            raise ValueError(f"string point {name} needs a size")
        return Point(name, type_, size, sf, rw)
    return Point(name, type_, _SIZES[type_], sf, rw)


def _int_range(point: Point) -> tuple[int, int]:
    """Valid raw range, the sentinel excluded (a real value never collides with it)."""
    bits = point.bits
    if point.signed:
        return -(1 << (bits - 1)) + 1, (1 << (bits - 1)) - 1
    if point.type.startswith("acc"):
        return 0, (1 << bits) - 1
    return 0, (1 << bits) - 2


def _split(raw: int, size: int) -> list[int]:
    raw &= (1 << (16 * size)) - 1
    return [(raw >> (16 * (size - 1 - i))) & 0xFFFF for i in range(size)]


def _join(regs: list[int]) -> int:
    raw = 0
    for reg in regs:
        raw = (raw << 16) | (reg & 0xFFFF)
    return raw


def encode_point(point: Point, value: PointValue, sf: int | None = None) -> list[int]:
    """Encode an engineering value (W, %, V ...) into registers, applying ``value / 10**sf``.

    Out-of-range values are clamped to the type's range (a device saturates, it does not
    wrap); accumulators wrap modulo their size as the spec requires for acc32/acc64.
    """
    if point.type == "string":
        data = (value if isinstance(value, str) else "").encode("ascii", "replace")
        data = data[: 2 * point.size].ljust(2 * point.size, b"\x00")
        return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
    if point.type == "float32":
        number = math.nan if value is None else float(value)
        return list(struct.unpack(">HH", struct.pack(">f", number)))
    if value is None:
        return _split(NOT_IMPLEMENTED[point.type], point.size)
    if isinstance(value, str):
        raise TypeError(f"{point.name}: text value for a numeric point")
    scaled = float(value) / (10.0**sf) if sf is not None else float(value)
    raw = round(scaled)
    if point.type.startswith("acc"):
        return _split(raw % (1 << point.bits), point.size)
    low, high = _int_range(point)
    return _split(min(max(raw, low), high), point.size)


def decode_point(point: Point, regs: list[int], sf: int | None = None) -> PointValue:
    """Decode registers into an engineering value; the sentinel decodes to ``None``."""
    if len(regs) != point.size:
        raise ValueError(f"{point.name}: need {point.size} registers, got {len(regs)}")
    if point.type == "string":
        data = b"".join(reg.to_bytes(2, "big") for reg in regs).rstrip(b"\x00")
        return data.decode("ascii", "replace") if data else None
    if point.type == "float32":
        (number,) = struct.unpack(">f", struct.pack(">HH", *regs))
        return None if math.isnan(number) else float(number)
    raw = _join(regs)
    if raw == NOT_IMPLEMENTED[point.type] and not point.type.startswith("acc"):
        return None
    if point.signed and raw >= 1 << (point.bits - 1):
        raw -= 1 << point.bits
    if sf is None:
        return raw
    return raw * 10.0**sf if sf < 0 else raw * 10**sf


def fit_scale_factor(max_abs: float, point_type: str, *, finest: int = -3) -> int:
    """Smallest exponent (finest resolution, not below ``finest``) at which ``max_abs`` fits."""
    _, high = _int_range(pt("x", point_type))
    sf = finest
    while abs(max_abs) / 10.0**sf > high:
        sf += 1
    return sf
