"""The reads of one poll, and where each signal's registers sit in their replies, worked out once.

A profile does not change while a device stays connected, so the blocks of a poll and, for
every signal, the block and offset of its value and of its scale factor are found once. A poll
then decodes straight from the reply lists (each block packed to bytes in one call, each value
unpacked with a precompiled struct format) instead of building a register dictionary and
looking every register up in it. The values are exactly those `decode_signals` gives for the
same registers; the dictionary is still there for the few who need it (`image`). Pure: no I/O.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from drivers.modbus.blocks import ReadBlock
from drivers.modbus.registers import FORMAT, decode_value
from drivers.modbus.signals import Signal, scaled_value

__all__ = ["PollPlan"]

Replies = Sequence[Sequence[int]]
"""The registers of each block of a plan, in the plan's block order."""


@dataclass(frozen=True, slots=True)
class _Placed:
    """One signal located in the poll's replies."""

    signal: Signal
    name: str
    block: int
    offset: int
    """Registers from the start of the block."""
    unpack: Callable[[bytes, int], tuple[int | float, ...]] | None
    """Precompiled unpack of the value from the block's bytes; None: the generic decoder."""
    sf_block: int
    """Block of the scale-factor register; -1 when the signal has none."""
    sf_offset: int


def _find(blocks: Sequence[ReadBlock], unit_id: int, address: int) -> tuple[int, int]:
    for index, block in enumerate(blocks):
        if block.unit_id == unit_id and block.address <= address < block.end:
            return index, address - block.address
    raise ValueError(f"register {address} (unit {unit_id}) is in none of the poll's blocks")


def _place(blocks: Sequence[ReadBlock], signal: Signal) -> _Placed:
    index, offset = _find(blocks, signal.unit_id, signal.address)
    if offset + signal.count > blocks[index].count:
        raise ValueError(f"{signal.name} runs past the end of its block")
    fmt = FORMAT.get(signal.reg_type)
    one_word = signal.count == 1
    unpack = (
        struct.Struct(fmt).unpack_from
        if fmt is not None and (one_word or signal.word_order == "big")
        else None
    )
    sf_block, sf_offset = -1, 0
    if signal.sf_address is not None:
        sf_block, sf_offset = _find(blocks, signal.unit_id, signal.sf_address)
    return _Placed(signal, signal.name, index, offset, unpack, sf_block, sf_offset)


class PollPlan:
    """The blocks one poll reads, and the signals decoded from them in fallback order."""

    def __init__(self, blocks: Iterable[ReadBlock], signals: Iterable[Signal]) -> None:
        self.blocks: tuple[ReadBlock, ...] = tuple(blocks)
        """Raises ValueError when a signal's registers are not all inside the blocks."""
        self._placed = tuple(_place(self.blocks, s) for s in signals)
        self._packers = tuple(struct.Struct(f">{b.count}H").pack for b in self.blocks)

    def decode(self, replies: Replies) -> dict[str, float | str]:
        """Every signal's value; the first signal of a name that has a value wins."""
        data = [self._bytes(i, regs) for i, regs in enumerate(replies)]
        out: dict[str, float | str] = {}
        for placed in self._placed:
            if placed.name in out:
                continue
            regs = replies[placed.block]
            signal = placed.signal
            raw: int | float | str
            if placed.unpack is not None:
                raw = placed.unpack(data[placed.block], 2 * placed.offset)[0]
            else:
                words = regs[placed.offset : placed.offset + signal.count]
                raw = decode_value(words, signal.reg_type, signal.word_order)
            sf_word = None if placed.sf_block < 0 else replies[placed.sf_block][placed.sf_offset]
            value = scaled_value(signal, raw, sf_word)
            if value is not None:
                out[placed.name] = value
        return out

    def image(self, replies: Replies) -> dict[tuple[int, int], int]:
        """The replies as registers by (unit id, address)."""
        image: dict[tuple[int, int], int] = {}
        for block, regs in zip(self.blocks, replies, strict=True):
            unit, start = block.unit_id, block.address
            image.update({(unit, start + i): value for i, value in enumerate(regs)})
        return image

    def _bytes(self, index: int, regs: Sequence[int]) -> bytes:
        try:
            return self._packers[index](*regs)
        except struct.error:  # not 16-bit words: keep the low 16 bits, as decode_value does
            return self._packers[index](*(r & 0xFFFF for r in regs))
