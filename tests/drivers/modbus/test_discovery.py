"""SunSpec discovery and the point tables, against hand-built maps and the simulator."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from pymodbus.client import AsyncModbusTcpClient

from drivers.modbus.errors import ExceptionReply
from drivers.modbus.sunspec import MODELS, DiscoveryError, discover, parse_chain
from simulators.inverter import InverterSimulator, MeterSimulator

SIMULATOR_NAMES = {(802, "SoCRsvMax"): "SocRsvMax"}
"""Points the simulator spells differently from the SunSpec JSON (same address)."""

SPEC_LENGTHS = {1: 66, 101: 50, 103: 50, 124: 24, 203: 105, 701: 153, 704: 65, 713: 7, 802: 62}
"""L as the SunSpec model definitions give it."""


def test_tables_have_the_lengths_of_the_spec() -> None:
    for model_id, length in SPEC_LENGTHS.items():
        assert MODELS[model_id].length == length, model_id


def test_parse_chain_walks_to_the_end_model() -> None:
    regs = [0x5375, 0x6E53, 1, 66, *[0] * 66, 713, 7, *[0] * 7, 0xFFFF, 0]
    found = parse_chain(40000, regs)
    assert [(m.model_id, m.address, m.length) for m in found.models] == [
        (1, 40002, 66),
        (713, 40070, 7),
    ]
    with pytest.raises(DiscoveryError, match="SunS"):
        parse_chain(0, [0, 0, 1, 66])
    with pytest.raises(DiscoveryError, match="past"):
        parse_chain(0, [0x5375, 0x6E53, 1, 66, 0, 0])


def _reader(base: int, regs: Sequence[int]):  # type: ignore[no-untyped-def]
    async def read(address: int, count: int) -> Sequence[int]:
        if not base <= address < base + len(regs):
            raise ExceptionReply(2, f"read {address}")
        return regs[address - base : address - base + count]

    return read


async def test_discover_tries_the_other_bases() -> None:
    regs = [0x5375, 0x6E53, 802, 62, *[0] * 62, 0xFFFF, 0]
    found = await discover(_reader(50000, regs))
    assert found.base == 50000 and found.model_ids == [802]
    with pytest.raises(DiscoveryError):
        await discover(_reader(50000, [0] * 10))


async def _client(port: int) -> AsyncModbusTcpClient:
    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=1, retries=0)
    assert await client.connect()
    return client


@pytest.mark.parametrize(
    ("profile", "base", "models"),
    [
        ("sunspec", 40000, [1, 701, 704, 713, 802]),
        ("sunspec", 0, [1, 701, 704, 713, 802]),
        ("sunspec", 50000, [1, 701, 704, 713, 802]),
        ("sunspec-legacy", 40000, [1, 103, 124]),
    ],
)
async def test_discovery_against_the_simulator(profile: str, base: int, models: list[int]) -> None:
    async with InverterSimulator(profile=profile, base=base, update_interval_s=0) as sim:
        client = await _client(sim.port)
        try:

            async def read(address: int, count: int) -> Sequence[int]:
                reply = await client.read_holding_registers(address, count=count, device_id=1)
                if reply.isError():
                    raise ExceptionReply(reply.exception_code, "read")
                return list(reply.registers)

            found = await discover(read)
        finally:
            client.close()
        assert found.base == base and found.model_ids == models
        # The simulator's layout, written separately from the spec, agrees with our tables.
        for model in found.models:
            assert model.length == MODELS[model.model_id].length
            for name, point in MODELS[model.model_id].points.items():
                if "." in name:
                    continue
                sim_name = SIMULATOR_NAMES.get((model.model_id, name), name)
                address = sim.storage.image.address_of(model.model_id, sim_name)
                assert address == model.address + point.offset, name


async def test_meter_chain() -> None:
    async with MeterSimulator(update_interval_s=0) as sim:
        regs = sim.image
        found = parse_chain(40000, regs)
        assert found.model_ids == [1, 203]
        for name, point in MODELS[203].points.items():
            assert sim.meter.image.address_of(203, name) == 40070 + point.offset


def test_unknown_704_layout_is_never_written() -> None:
    from drivers.modbus.sunspec import build_sunspec_profile

    draft = parse_chain(0, [0x5375, 0x6E53, 701, 153, *[0] * 153, 704, 69, *[0] * 69, 0xFFFF, 0])
    assert build_sunspec_profile(draft, "storage", 1).control is None
    known = parse_chain(0, [0x5375, 0x6E53, 701, 153, *[0] * 153, 704, 65, *[0] * 65, 0xFFFF, 0])
    control = build_sunspec_profile(known, "storage", 1).control
    assert control is not None and control.revert_field == "704 WSetRvrtTms"
