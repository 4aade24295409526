"""Modbus register types: raw words to numbers and back, with SunSpec "not implemented" values.

SunSpec Information Model Specification, "Point types": a point that a device does not
implement reads as 0x8000 (int16, sunssf), 0xFFFF (uint16, enum16, bitfield16),
0x80000000 (int32), 0xFFFFFFFF (uint32, enum32, bitfield32), 0 (acc16/32/64: an
accumulator that never counted), NaN (float32) or all-zero registers (string).
Pure: no I/O.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from typing import Literal

__all__ = [
    "FORMAT",
    "REGISTER_COUNT",
    "RegType",
    "WordOrder",
    "decode_value",
    "encode_value",
    "is_not_implemented",
]

RegType = Literal[
    "int16",
    "uint16",
    "int32",
    "uint32",
    "int64",
    "uint64",
    "acc16",
    "acc32",
    "acc64",
    "float32",
    "enum16",
    "bitfield16",
    "bitfield32",
    "sunssf",
    "string",
]
WordOrder = Literal["big", "little"]
"""Order of 16-bit words in a multi-register value; bytes inside a word are always big-endian."""

REGISTER_COUNT: dict[str, int] = {
    "int16": 1,
    "uint16": 1,
    "acc16": 1,
    "enum16": 1,
    "bitfield16": 1,
    "sunssf": 1,
    "int32": 2,
    "uint32": 2,
    "acc32": 2,
    "float32": 2,
    "bitfield32": 2,
    "int64": 4,
    "uint64": 4,
    "acc64": 4,
}
"""Registers per value; strings take the size their point says."""

FORMAT: dict[str, str] = {
    "int16": ">h",
    "sunssf": ">h",
    "uint16": ">H",
    "acc16": ">H",
    "enum16": ">H",
    "bitfield16": ">H",
    "int32": ">i",
    "uint32": ">I",
    "acc32": ">I",
    "bitfield32": ">I",
    "float32": ">f",
    "int64": ">q",
    "uint64": ">Q",
    "acc64": ">Q",
}
"""struct format of each numeric type, its words in big-endian order."""

_NOT_IMPLEMENTED: dict[str, int] = {
    "int16": -0x8000,
    "sunssf": -0x8000,
    "uint16": 0xFFFF,
    "enum16": 0xFFFF,
    "bitfield16": 0xFFFF,
    "int32": -0x80000000,
    "uint32": 0xFFFFFFFF,
    "bitfield32": 0xFFFFFFFF,
    "int64": -0x8000000000000000,
    "uint64": 0xFFFFFFFFFFFFFFFF,
    "acc16": 0,
    "acc32": 0,
    "acc64": 0,
}


def _words(registers: Sequence[int], word_order: WordOrder) -> bytes:
    words = list(registers) if word_order == "big" else list(reversed(registers))
    return b"".join((w & 0xFFFF).to_bytes(2, "big") for w in words)


def decode_value(
    registers: Sequence[int], reg_type: RegType, word_order: WordOrder = "big"
) -> int | float | str:
    """The raw value of one point (before any scale factor)."""
    if reg_type == "string":
        raw = _words(registers, "big")
        return raw.split(b"\x00", 1)[0].decode("utf-8", errors="replace").strip()
    count = REGISTER_COUNT[reg_type]
    if len(registers) != count:
        raise ValueError(f"{reg_type} needs {count} registers, got {len(registers)}")
    value: int | float = struct.unpack(FORMAT[reg_type], _words(registers, word_order))[0]
    return value


def is_not_implemented(value: int | float | str, reg_type: RegType) -> bool:
    """True when the raw value is the SunSpec marker for "this point is not implemented"."""
    if reg_type == "string":
        return value == ""
    if reg_type == "float32":
        return isinstance(value, float) and math.isnan(value)
    return value == _NOT_IMPLEMENTED.get(reg_type)


def encode_value(value: int | float, reg_type: RegType, word_order: WordOrder = "big") -> list[int]:
    """Registers for a raw value; raises ValueError when it does not fit the type."""
    fmt = FORMAT.get(reg_type)
    if fmt is None:
        raise ValueError(f"cannot write a {reg_type} point")
    number: int | float = float(value) if reg_type == "float32" else round(value)
    try:
        raw = struct.pack(fmt, number)
    except struct.error as exc:
        raise ValueError(f"{value!r} does not fit {reg_type}") from exc
    words = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
    return words if word_order == "big" else list(reversed(words))
