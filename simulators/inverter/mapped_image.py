"""Registers of a vendor device laid out by a register-map file (config/registers/*.yaml).

The map format belongs to the Modbus driver (drivers.modbus.register_map): each point has
an address, unit id, type, word order, scale (raw x scale = value in the point's unit) and
sign convention. This image holds every point's value as the device shows it and encodes
it into register runs per unit id, independently of the driver's own codec, so a test
with both compares two implementations of the same file.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from drivers.modbus.register_map import MapPoint, RegisterMap

from .image import ReadOnlyPointError
from .points import Point, PointValue, decode_point, encode_point, pt

__all__ = ["MappedImage", "PlacedPoint"]


@dataclass(frozen=True, slots=True)
class PlacedPoint:
    """One map point at its unit id and address, with the codec point for its type."""

    name: str
    unit_id: int
    spec: MapPoint
    point: Point

    @property
    def address(self) -> int:
        return self.spec.address

    @property
    def end(self) -> int:
        return self.spec.address + self.point.size

    def encode(self, value: PointValue) -> list[int]:
        """Registers for a value in the point's unit (raw = value / scale)."""
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = value / self.spec.scale
        regs = encode_point(self.point, value)
        return regs if self.spec.word_order == "big" else regs[::-1]

    def decode(self, regs: list[int]) -> PointValue:
        words = regs if self.spec.word_order == "big" else regs[::-1]
        raw = decode_point(self.point, words)
        return raw * self.spec.scale if isinstance(raw, int | float) else raw


class MappedImage:
    """Every point of a register map, its current value, and the register runs per unit."""

    def __init__(self, spec: RegisterMap, unit_id: int) -> None:
        self.spec = spec
        self.points: dict[str, PlacedPoint] = {}
        for name, mp in spec.points.items():
            unit = mp.unit_id if mp.unit_id is not None else unit_id
            size = mp.size or 0
            point = pt(name, mp.type, size=size) if mp.type == "string" else pt(name, mp.type)
            self.points[name] = PlacedPoint(name, unit, mp, point)
        self.values: dict[str, PointValue] = dict.fromkeys(self.points, 0)
        for unit in self.units():
            ordered = self._ordered(unit)
            for before, after in pairwise(ordered):
                if after.address < before.end:
                    raise ValueError(f"points {before.name} and {after.name} overlap")

    def units(self) -> list[int]:
        return sorted({p.unit_id for p in self.points.values()})

    def _ordered(self, unit_id: int) -> list[PlacedPoint]:
        return sorted((p for p in self.points.values() if p.unit_id == unit_id),
                      key=lambda p: p.address)  # fmt: skip

    def segments(self, unit_id: int) -> list[tuple[int, list[int]]]:
        """Contiguous runs of registers (start, values); gaps between them are not served."""
        runs: list[tuple[int, list[int]]] = []
        for p in self._ordered(unit_id):
            regs = p.encode(self.values.get(p.name))
            if runs and runs[-1][0] + len(runs[-1][1]) == p.address:
                runs[-1][1].extend(regs)
            else:
                runs.append((p.address, regs))
        return runs

    def decode_write(self, unit_id: int, address: int, values: list[int]) -> dict[str, PointValue]:
        """The points a write sets; ReadOnlyPointError if it touches anything but RW points."""
        touched: dict[str, PlacedPoint] = {}
        for reg in range(address, address + len(values)):
            hit = next((p for p in self._ordered(unit_id) if p.address <= reg < p.end), None)
            if hit is None or hit.spec.access != "RW":
                raise ReadOnlyPointError(f"unit {unit_id} register {reg} is not writable")
            touched[hit.name] = hit
        result: dict[str, PointValue] = {}
        for name, p in touched.items():
            current = p.encode(self.values.get(name))
            for i in range(p.point.size):
                offset = p.address + i - address
                if 0 <= offset < len(values):
                    current[i] = values[offset] & 0xFFFF
            result[name] = p.decode(current)
        return result
