"""Any block of 16-bit registers decodes to finite values, a string or "not reported", and any
SunSpec chain parses or raises DiscoveryError: nothing else can escape into the poll loop."""

from __future__ import annotations

import math
from typing import get_args

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.modbus.registers import REGISTER_COUNT, RegType
from drivers.modbus.signals import Signal, decode_signals
from drivers.modbus.sunspec.discovery import DiscoveryError, parse_chain
from drivers.modbus.telemetry import meter_telemetry, storage_telemetry
from gateway import wire
from gateway.foundation.model import DeviceId
from gateway.payloads import to_message
from gateway.topics import Topics

WORD = st.integers(0, 0xFFFF)
REG_TYPES = [t for t in get_args(RegType)]
NAMES = ["power_w", "soc_pct", "soh_pct", "energy_wh", "voltage_v", "max_charge_w", "vendor"]


@st.composite
def signals(draw: st.DrawFn) -> Signal:
    reg_type = draw(st.sampled_from(REG_TYPES))
    size = draw(st.integers(1, 8)) if reg_type == "string" else 0
    return Signal(
        name=draw(st.sampled_from(NAMES)),
        address=draw(st.integers(0, 40)),
        reg_type=reg_type,
        unit_id=1,
        size=size,
        word_order=draw(st.sampled_from(["big", "little"])),
        scale=draw(st.sampled_from([1.0, 0.001, 10.0, -1.0, 1e6, 1e300])),
        sf_address=draw(st.none() | st.integers(0, 48)),
        sign=draw(st.sampled_from([1.0, -1.0])),
        sentinels=draw(st.booleans()),
    )


MANY = settings(max_examples=settings().max_examples * 8)
"""Pure and cheap: eight times the profile's cases (200 in CI, 16,000 with the long one)."""


@MANY
@given(block=st.lists(WORD, min_size=0, max_size=50), table=st.lists(signals(), max_size=12))
def test_any_register_block_decodes_to_finite_values_or_nothing(
    block: list[int], table: list[Signal]
) -> None:
    image = {(1, address): value for address, value in enumerate(block)}
    values = decode_signals(image, table)
    for value in values.values():
        assert isinstance(value, str) or math.isfinite(value)
    # And what the poll loop makes of them is a record the outbox accepts (strict JSON).
    topics = Topics("p", "s")
    for record in (
        storage_telemetry(DeviceId("bess-1"), values),
        meter_telemetry(DeviceId("meter-1"), values),
    ):
        wire.dumps(to_message(record, topics).body)


@MANY
@given(base=st.integers(0, 50_000), block=st.lists(WORD, max_size=300))
def test_any_sunspec_chain_parses_or_raises_discovery_error(base: int, block: list[int]) -> None:
    try:
        chain = parse_chain(base, block)
    except DiscoveryError:
        return
    assert all(m.length >= 0 for m in chain.models)


@MANY
@given(
    reg_type=st.sampled_from([t for t in REG_TYPES if t != "string"]),
    words=st.lists(WORD, min_size=4, max_size=4),
)
def test_every_numeric_type_decodes_any_words(reg_type: RegType, words: list[int]) -> None:
    from drivers.modbus.registers import decode_value

    value = decode_value(words[: REGISTER_COUNT[reg_type]], reg_type)
    assert isinstance(value, int | float)


def test_a_reading_that_overflows_its_scale_is_not_reported() -> None:
    """uint32 0xFFFFFFFE x scale 1e300 is infinity: "not reported", not an `inf` to publish."""
    signal = Signal("power_w", 0, "uint32", 1, scale=1e300, sentinels=False)
    assert decode_signals({(1, 0): 0xFFFF, (1, 1): 0xFFFE}, [signal]) == {}
