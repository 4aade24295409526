"""A SunSpec register image: "SunS" marker, a chain of [ID, L, points...] models, end model.

SunSpec Information Model Specification, "Device Modbus map": the map starts at a base
address (40000, 0 or 50000) with the marker 0x5375 0x6E53, every model is its 16-bit
ID, its length L (registers that follow) and L registers of points, and the chain ends
with ID 0xFFFF and L 0. The image is pure data: no sockets, testable on its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .models_der import MODEL_701, MODEL_704, MODEL_713, MODEL_802
from .models_legacy import MODEL_1, MODEL_103, MODEL_124, MODEL_203
from .points import Point, PointValue, decode_point, encode_point

__all__ = [
    "END_MODEL_ID",
    "MODEL_TABLES",
    "SUNS_MARKER",
    "VALID_BASES",
    "ModelBlock",
    "PointAddress",
    "ReadOnlyPointError",
    "RegisterImage",
]

SUNS_MARKER: tuple[int, int] = (0x5375, 0x6E53)  # "SunS"
END_MODEL_ID = 0xFFFF
VALID_BASES: tuple[int, ...] = (40000, 0, 50000)

MODEL_TABLES: dict[int, tuple[Point, ...]] = {
    1: MODEL_1,
    103: MODEL_103,
    124: MODEL_124,
    203: MODEL_203,
    701: MODEL_701,
    704: MODEL_704,
    713: MODEL_713,
    802: MODEL_802,
}


class ReadOnlyPointError(ValueError):
    """A write touched a register that is not a writable point (ID, L, measurement, SF)."""


@dataclass
class ModelBlock:
    """One model instance in the chain and the current engineering values of its points."""

    model_id: int
    points: tuple[Point, ...]
    values: dict[str, PointValue] = field(default_factory=dict)

    @property
    def length(self) -> int:
        return sum(p.size for p in self.points)

    def point(self, name: str) -> Point:
        for p in self.points:
            if p.name == name:
                return p
        raise KeyError(f"model {self.model_id} has no point {name}")

    def sf_of(self, point: Point) -> int | None:
        """Current exponent of the point's scale factor; None if it has none or it is unset."""
        if point.sf is None:
            return None
        exponent = self.values.get(point.sf)
        return int(exponent) if isinstance(exponent, int | float) else None

    def encode(self) -> list[int]:
        regs = [self.model_id, self.length]
        for p in self.points:
            regs.extend(encode_point(p, self.values.get(p.name), self.sf_of(p)))
        return regs


@dataclass(frozen=True, slots=True)
class PointAddress:
    """Absolute Modbus address (PDU, 0-based) of one point of one model."""

    model_id: int
    point: Point
    address: int


class RegisterImage:
    """The whole SunSpec map of one device; encodes on demand from the model values."""

    def __init__(self, blocks: Iterable[ModelBlock], base: int = 40000) -> None:
        if base not in VALID_BASES:
            raise ValueError(f"SunSpec base must be one of {VALID_BASES}, not {base}")
        self.base = base
        self.blocks: list[ModelBlock] = list(blocks)
        self._index: dict[tuple[int, str], PointAddress] = {}
        self._by_address: dict[int, PointAddress] = {}
        address = base + 2
        for block in self.blocks:
            address += 2
            for p in block.points:
                entry = PointAddress(block.model_id, p, address)
                self._index[(block.model_id, p.name)] = entry
                for reg in range(address, address + p.size):
                    self._by_address[reg] = entry
                address += p.size
        self.end = address + 2  # one past the end model

    @property
    def size(self) -> int:
        return self.end - self.base

    def block(self, model_id: int) -> ModelBlock:
        for block in self.blocks:
            if block.model_id == model_id:
                return block
        raise KeyError(f"no model {model_id} in this image")

    def address_of(self, model_id: int, name: str) -> int:
        """Absolute address of a point, e.g. ``address_of(704, "WSet")``."""
        return self._index[(model_id, name)].address

    def model_start(self, model_id: int) -> int:
        """Address of the model's ID register."""
        return self.address_of(model_id, self.block(model_id).points[0].name) - 2

    def encode(self) -> list[int]:
        regs = list(SUNS_MARKER)
        for block in self.blocks:
            regs.extend(block.encode())
        regs.extend([END_MODEL_ID, 0])
        return regs

    def decode_write(self, address: int, values: list[int]) -> dict[tuple[int, str], PointValue]:
        """Decode a write of ``values`` at ``address`` into the points it sets.

        A multi-register point written in part is merged with its current registers.
        Raises ReadOnlyPointError when any register written is not a writable point.
        """
        current = self.encode()
        merged = list(current)
        for i, value in enumerate(values):
            offset = address - self.base + i
            if not 0 <= offset < len(merged):
                raise ReadOnlyPointError(f"address {address + i} outside the map")
            merged[offset] = value & 0xFFFF
        touched: dict[tuple[int, str], PointAddress] = {}
        for reg in range(address, address + len(values)):
            entry = self._by_address.get(reg)
            if entry is None or not entry.point.writable:
                raise ReadOnlyPointError(f"register {reg} is not writable")
            touched[(entry.model_id, entry.point.name)] = entry
        result: dict[tuple[int, str], PointValue] = {}
        for key, entry in touched.items():
            start = entry.address - self.base
            regs = merged[start : start + entry.point.size]
            block = self.block(entry.model_id)
            result[key] = decode_point(entry.point, regs, block.sf_of(entry.point))
        return result

    def read_point(self, model_id: int, name: str, regs: Mapping[int, int]) -> PointValue:
        """Decode one point from a register mapping (address -> value); for tests/tools."""
        entry = self._index[(model_id, name)]
        words = [regs[entry.address + i] for i in range(entry.point.size)]
        return decode_point(entry.point, words, self.block(model_id).sf_of(entry.point))
