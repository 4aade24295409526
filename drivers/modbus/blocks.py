"""Coalesce the registers a poll needs into as few reads as possible.

Modbus application protocol v1.1b3 §6.3: one Read Holding Registers request carries at most
125 registers. Small gaps between needed registers are read through (one longer request is
cheaper than two round trips), but never across a gap wider than `max_gap`, because an
unmapped register may answer with exception 2 (illegal data address). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["MAX_READ", "ReadBlock", "coalesce"]

MAX_READ = 125


@dataclass(frozen=True, slots=True, order=True)
class ReadBlock:
    unit_id: int
    address: int
    count: int

    @property
    def end(self) -> int:
        return self.address + self.count


def coalesce(
    addresses: Iterable[tuple[int, int]], *, max_gap: int = 0, max_count: int = MAX_READ
) -> list[ReadBlock]:
    """Blocks covering every (unit, address); `max_gap` unneeded registers may be read through."""
    blocks: list[ReadBlock] = []
    for unit_id, address in sorted(set(addresses)):
        last = blocks[-1] if blocks else None
        if (
            last is not None
            and last.unit_id == unit_id
            and address - last.end <= max_gap
            and address + 1 - last.address <= max_count
        ):
            blocks[-1] = ReadBlock(unit_id, last.address, address + 1 - last.address)
        else:
            blocks.append(ReadBlock(unit_id, address, 1))
    return blocks
