"""A poll plan decodes the replies of its blocks exactly as `decode_signals` decodes the same
registers looked up one by one, and gives the same register image."""

from __future__ import annotations

from typing import get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.modbus.blocks import ReadBlock, coalesce
from drivers.modbus.poll_plan import PollPlan
from drivers.modbus.registers import RegType
from drivers.modbus.signals import Signal, decode_signals

REG_TYPES = list(get_args(RegType))


@st.composite
def signals(draw: st.DrawFn) -> Signal:
    reg_type = draw(st.sampled_from(REG_TYPES))
    return Signal(
        name=draw(st.sampled_from(["power_w", "soc_pct", "voltage_v", "vendor"])),
        address=draw(st.integers(0, 300)),
        reg_type=reg_type,
        unit_id=draw(st.sampled_from([1, 2])),
        size=draw(st.integers(1, 8)) if reg_type == "string" else 0,
        word_order=draw(st.sampled_from(["big", "little"])),
        scale=draw(st.sampled_from([1.0, 0.001, 10.0, -1.0, 1e300])),
        sf_address=draw(st.none() | st.integers(0, 300)),
        sign=draw(st.sampled_from([1.0, -1.0])),
        sentinels=draw(st.booleans()),
        invalid=draw(st.sampled_from([(), (0xFFFF,), (0xFFFFFFFF,)])),
    )


# Registers drawn mostly from the values decoding treats specially.
WORD = st.sampled_from([0, 1, 0x7FFF, 0x8000, 0xFFFF, 0x7FC0, 10, 0xFFF6, 0x41]) | st.integers(
    0, 0xFFFF
)


@settings(max_examples=settings().max_examples * 8)
@given(
    table=st.lists(signals(), min_size=1, max_size=12),
    max_gap=st.integers(0, 20),
    data=st.data(),
)
def test_plan_decodes_as_register_lookups_do(
    table: list[Signal], max_gap: int, data: st.DataObject
) -> None:
    blocks = coalesce([a for s in table for a in s.addresses()], max_gap=max_gap)
    replies = [data.draw(st.lists(WORD, min_size=b.count, max_size=b.count)) for b in blocks]
    plan = PollPlan(blocks, table)
    image = {
        (b.unit_id, b.address + i): word
        for b, regs in zip(blocks, replies, strict=True)
        for i, word in enumerate(regs)
    }
    assert plan.image(replies) == image
    assert plan.decode(replies) == decode_signals(image, table)


def test_words_wider_than_16_bits_keep_their_low_bits_as_decode_signals_does() -> None:
    table = [Signal("power_w", 0, "int16", 1), Signal("soc_pct", 1, "uint32", 1)]
    blocks = coalesce([a for s in table for a in s.addresses()])
    replies = [[0x1FFFF, 0x10001, 0x2]]
    image = {(1, 0): 0x1FFFF, (1, 1): 0x10001, (1, 2): 0x2}
    assert PollPlan(blocks, table).decode(replies) == decode_signals(image, table)
    assert PollPlan(blocks, table).decode(replies) == {"power_w": -1.0, "soc_pct": 65538.0}


def test_a_signal_outside_the_blocks_is_refused() -> None:
    with pytest.raises(ValueError, match="none of the poll's blocks"):
        PollPlan([ReadBlock(1, 0, 2)], [Signal("power_w", 5, "int16", 1)])
    with pytest.raises(ValueError, match="past the end"):
        PollPlan([ReadBlock(1, 0, 2)], [Signal("power_w", 1, "int32", 1)])
