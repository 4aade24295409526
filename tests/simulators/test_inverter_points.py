"""SunSpec point encoding: scale factors, sentinels, clamping (no sockets)."""

from __future__ import annotations

import pytest

from simulators.inverter.points import (
    NOT_IMPLEMENTED,
    decode_point,
    encode_point,
    fit_scale_factor,
    pt,
)


@pytest.mark.parametrize(
    ("type_", "sf", "value", "regs"),
    [
        ("int16", 1, -12_340.0, [(-1234) & 0xFFFF]),
        ("int16", 0, 250, [250]),
        ("uint16", -1, 59.6, [596]),
        ("uint16", -2, 50.0, [5000]),
        ("int32", 0, -10_000, [0xFFFF, (-10_000) & 0xFFFF]),
        ("uint32", -3, 50.0, [0, 50_000]),
        ("acc32", 0, 70_000, [1, 70_000 - 65_536]),
        ("acc64", 0, 5, [0, 0, 0, 5]),
        ("sunssf", None, -2, [0xFFFE]),
    ],
)
def test_encode_decode_round_trip(
    type_: str, sf: int | None, value: float, regs: list[int]
) -> None:
    point = pt("X", type_)
    assert encode_point(point, value, sf) == regs
    decoded = decode_point(point, regs, sf)
    assert decoded == pytest.approx(value)


@pytest.mark.parametrize("type_", ["int16", "uint16", "enum16", "sunssf", "uint32", "int32"])
def test_none_encodes_the_not_implemented_sentinel(type_: str) -> None:
    point = pt("X", type_)
    regs = encode_point(point, None)
    raw = 0
    for reg in regs:
        raw = (raw << 16) | reg
    assert raw == NOT_IMPLEMENTED[type_]
    assert decode_point(point, regs) is None


def test_accumulator_not_implemented_is_zero() -> None:
    assert encode_point(pt("E", "acc32"), None) == [0, 0]
    assert encode_point(pt("E", "acc64"), None) == [0, 0, 0, 0]


def test_string_and_float_sentinels() -> None:
    name = pt("Mn", "string", size=4)
    assert encode_point(name, None) == [0, 0, 0, 0]
    assert encode_point(name, "SunS") == [0x5375, 0x6E53, 0, 0]
    assert decode_point(name, [0x5375, 0x6E53, 0, 0]) == "SunS"
    number = pt("F", "float32")
    assert decode_point(number, [0x7FC0, 0]) is None  # NaN: not implemented
    assert decode_point(number, encode_point(number, 1.5)) == 1.5


def test_values_out_of_range_saturate_below_the_sentinel() -> None:
    assert encode_point(pt("W", "int16"), 1e9, 0) == [0x7FFF]
    assert encode_point(pt("W", "int16"), -1e9, 0) == [0x8001]
    assert encode_point(pt("U", "uint16"), 1e9, 0) == [0xFFFE]
    assert encode_point(pt("U", "uint16"), -5, 0) == [0]


def test_fit_scale_factor_picks_the_finest_exponent_that_fits() -> None:
    assert fit_scale_factor(55_000, "int16", finest=0) == 1
    assert fit_scale_factor(30_000, "int16", finest=0) == 0
    assert fit_scale_factor(100_000, "uint16", finest=0) == 1
    assert fit_scale_factor(100.0, "uint16", finest=-3) == -2
