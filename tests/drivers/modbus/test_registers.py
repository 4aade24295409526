"""Register types, word order, SunSpec sentinels and scale factors (pure)."""

from __future__ import annotations

import math
import struct

import pytest

from drivers.modbus.blocks import ReadBlock, coalesce
from drivers.modbus.registers import decode_value, encode_value, is_not_implemented
from drivers.modbus.signals import Signal, decode_signal, decode_signals


def test_signed_and_unsigned_types() -> None:
    assert decode_value([0xFFFE], "int16") == -2
    assert decode_value([0xFFFE], "uint16") == 0xFFFE
    assert decode_value([0xFFFF, 0xFFFE], "int32") == -2
    assert decode_value([0x0001, 0x0000], "uint32") == 65536
    assert decode_value([0, 0, 0x0001, 0x0000], "uint64") == 65536
    words = [
        int.from_bytes(b, "big") for b in (struct.pack(">f", 1.5)[:2], struct.pack(">f", 1.5)[2:])
    ]
    assert decode_value(words, "float32") == 1.5


def test_word_order_little_swaps_registers_not_bytes() -> None:
    assert decode_value([0x0000, 0x0001], "uint32", "little") == 65536
    assert encode_value(65536, "uint32", "little") == [0x0000, 0x0001]
    assert decode_value([0xFFFE, 0xFFFF], "int32", "little") == -2


def test_strings_stop_at_nul() -> None:
    regs = [0x5069, 0x6C65, 0x0000, 0x4142]  # "Pile\0\0AB"
    assert decode_value(regs, "string") == "Pile"


@pytest.mark.parametrize(
    ("regs", "reg_type"),
    [
        ([0x8000], "int16"),
        ([0x8000], "sunssf"),
        ([0xFFFF], "uint16"),
        ([0xFFFF], "enum16"),
        ([0x8000, 0x0000], "int32"),
        ([0xFFFF, 0xFFFF], "uint32"),
        ([0xFFFF, 0xFFFF], "bitfield32"),
        ([0, 0], "acc32"),
        ([0, 0, 0, 0], "acc64"),
        ([0x7FC0, 0x0000], "float32"),
        ([0, 0, 0], "string"),
    ],
)
def test_not_implemented_markers(regs: list[int], reg_type: str) -> None:
    value = decode_value(regs, reg_type)  # type: ignore[arg-type]
    assert is_not_implemented(value, reg_type)  # type: ignore[arg-type]


def test_real_values_are_not_mistaken_for_markers() -> None:
    assert not is_not_implemented(decode_value([0x7FFF], "int16"), "int16")
    assert not is_not_implemented(decode_value([0, 1], "acc32"), "acc32")
    assert not is_not_implemented(decode_value([0], "uint16"), "uint16")


def test_encode_round_trips_and_refuses_overflow() -> None:
    for value, reg_type in [(-30000, "int16"), (-2, "int32"), (4_000_000_000, "uint32")]:
        assert decode_value(encode_value(value, reg_type), reg_type) == value  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        encode_value(40000, "int16")
    with pytest.raises(ValueError):
        encode_value(-1, "uint16")


def image(unit: int, start: int, regs: list[int]) -> dict[tuple[int, int], int]:
    return {(unit, start + i): r for i, r in enumerate(regs)}


def test_scale_factor_register_and_sign() -> None:
    # W = 1234 with W_SF = 1 -> 12340 W injected; load convention negates it.
    img = image(1, 100, [1234, 1])
    w = Signal("power_w", 100, "int16", 1, sf_address=101, sign=-1.0)
    assert decode_signal(img, w) == -12340.0
    img = image(1, 100, [499, 0xFFFF])  # SF = -1
    assert decode_signal(img, Signal("soc_pct", 100, "uint16", 1, sf_address=101)) == 49.9


def test_sentinels_and_bad_scale_factors_read_as_absent() -> None:
    sig = Signal("power_w", 100, "int16", 1, sf_address=101)
    assert decode_signal(image(1, 100, [0x8000, 0]), sig) is None  # value not implemented
    assert decode_signal(image(1, 100, [5, 0x8000]), sig) is None  # SF not implemented
    assert decode_signal(image(1, 100, [5, 42]), sig) is None  # SF out of any sane range
    assert decode_signal({}, sig) is None  # not read
    acc = Signal("energy_charged_wh", 10, "acc64", 1)
    assert decode_signal(image(1, 10, [0, 0, 0, 0]), acc) is None
    assert decode_signal(image(1, 10, [0, 0, 0, 7]), acc) == 7.0


def test_vendor_invalid_values_and_scale() -> None:
    sig = Signal("voltage_v", 0, "uint16", 1, scale=0.1, sentinels=False, invalid=(0x7FFF,))
    assert decode_signal(image(1, 0, [0x7FFF]), sig) is None
    assert decode_signal(image(1, 0, [0xFFFF]), sig) == pytest.approx(6553.5)
    assert decode_signal(image(1, 0, [2305]), sig) == pytest.approx(230.5)


def test_first_signal_with_a_value_wins() -> None:
    first = Signal("soc_pct", 0, "uint16", 1)
    second = Signal("soc_pct", 1, "uint16", 1)
    assert decode_signals(image(1, 0, [0xFFFF, 55]), [first, second]) == {"soc_pct": 55.0}
    assert decode_signals(image(1, 0, [60, 55]), [first, second]) == {"soc_pct": 60.0}
    nan = Signal("x", 0, "float32", 1)
    assert math.isnan(decode_value([0x7FC0, 0], "float32"))  # type: ignore[arg-type]
    assert decode_signals(image(1, 0, [0x7FC0, 0]), [nan]) == {}


def test_coalesce_adjacent_points_into_few_reads() -> None:
    addrs = [(1, a) for a in (10, 11, 12, 14, 15)] + [(2, 10)]
    assert coalesce(addrs) == [ReadBlock(1, 10, 3), ReadBlock(1, 14, 2), ReadBlock(2, 10, 1)]
    assert coalesce(addrs, max_gap=1) == [ReadBlock(1, 10, 6), ReadBlock(2, 10, 1)]


def test_coalesce_never_exceeds_125_registers() -> None:
    blocks = coalesce([(1, a) for a in range(40000, 40300)])
    assert [b.count for b in blocks] == [125, 125, 50]
    assert blocks[1].address == 40125
    covered = {b.address + i for b in blocks for i in range(b.count)}
    assert covered == set(range(40000, 40300))


def test_sunspec_accumulators_all_ones_read_as_absent() -> None:
    from drivers.modbus.sunspec import ModelLocation
    from drivers.modbus.sunspec.profile import point_signal

    model = ModelLocation(701, 0, 153)
    sig = point_signal(model, "TotWhInj", "energy_discharged_wh", 1)
    assert sig is not None
    ones = {(1, 19 + i): 0xFFFF for i in range(4)}
    assert decode_signal({**ones, (1, 120): 0}, sig) is None
    assert decode_signal({**ones, (1, 22): 5, (1, 120): 0}, sig) is not None
