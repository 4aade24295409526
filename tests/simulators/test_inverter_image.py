"""The SunSpec register image: marker, model chain, lengths, write decoding (no sockets)."""

from __future__ import annotations

import pytest

from simulators.inverter.battery import Battery, BatteryParams
from simulators.inverter.image import MODEL_TABLES, SUNS_MARKER, ReadOnlyPointError
from simulators.inverter.meter import MeterDevice
from simulators.inverter.storage import StorageDevice


def walk(regs: list[int], base: int) -> list[tuple[int, int, int]]:
    """(model id, address of ID, L) for every model, as a SunSpec client discovers them."""
    assert tuple(regs[:2]) == SUNS_MARKER
    out, offset = [], 2
    while regs[offset] != 0xFFFF:
        out.append((regs[offset], base + offset, regs[offset + 1]))
        offset += 2 + regs[offset + 1]
    assert regs[offset + 1] == 0
    assert offset + 2 == len(regs)
    return out


@pytest.mark.parametrize(
    ("model_id", "length"),
    [(1, 66), (701, 153), (704, 65), (713, 7), (802, 62), (103, 50), (124, 24), (203, 105)],
)
def test_model_lengths_match_the_specs(model_id: int, length: int) -> None:
    assert sum(p.size for p in MODEL_TABLES[model_id]) == length


@pytest.mark.parametrize(
    ("profile", "models"),
    [("sunspec", [1, 701, 704, 713, 802]), ("sunspec-legacy", [1, 103, 124])],
)
@pytest.mark.parametrize("base", [40000, 0, 50000])
def test_storage_chain(profile: str, models: list[int], base: int) -> None:
    device = StorageDevice("b", Battery(BatteryParams()), profile=profile, base=base)
    chain = walk(device.registers(), base)
    assert [m for m, _, _ in chain] == models
    for model_id, address, _ in chain:
        assert device.image.model_start(model_id) == address


def test_meter_chain() -> None:
    meter = MeterDevice("m", base_load=1000.0)
    assert [m for m, _, _ in walk(meter.registers(), 40000)] == [1, 203]


def test_invalid_base_is_refused() -> None:
    with pytest.raises(ValueError):
        StorageDevice("b", Battery(BatteryParams()), base=1000)


def test_documented_addresses_of_the_modern_profile() -> None:
    image = StorageDevice("b", Battery(BatteryParams())).image
    assert image.model_start(1) == 40002
    assert image.model_start(701) == 40070
    assert image.address_of(701, "W") == 40080
    assert image.model_start(704) == 40225
    assert image.address_of(704, "WSetEna") == 40247
    assert image.address_of(704, "WSet") == 40249
    assert image.address_of(704, "WSetRvrtTms") == 40256
    assert image.model_start(713) == 40292
    assert image.model_start(802) == 40301
    assert image.end == 40367


def test_decode_write_merges_and_refuses_read_only() -> None:
    image = StorageDevice("b", Battery(BatteryParams())).image
    wset = image.address_of(704, "WSet")
    changes = image.decode_write(wset, [0xFFFF, 0xD8F0])
    assert changes == {(704, "WSet"): -10_000}
    with pytest.raises(ReadOnlyPointError):
        image.decode_write(image.address_of(701, "W"), [1])
    with pytest.raises(ReadOnlyPointError):
        image.decode_write(image.model_start(704), [704])  # the ID register
