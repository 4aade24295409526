"""The simulator as a real Modbus TCP peer: discovery, scale factors, setpoints, SoC limits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from pymodbus.client import AsyncModbusTcpClient

from gateway.foundation.clock import FakeClock
from simulators.inverter import BatteryParams, InverterSimulator, MeterSimulator
from simulators.inverter.clock import ScaledClock
from simulators.inverter.image import MODEL_TABLES
from simulators.inverter.points import Point, decode_point
from simulators.inverter.probe import DiscoveredModel, discover, read_block

PARAMS = BatteryParams(
    capacity_wh=100_000, max_charge_w=50_000, max_discharge_w=50_000,
    soc_min_pct=10, soc_max_pct=90, round_trip_efficiency=1.0,
)  # fmt: skip


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def sim(clock: FakeClock) -> AsyncIterator[InverterSimulator]:
    async with InverterSimulator(params=PARAMS, soc_pct=50, clock=clock) as sim:
        yield sim


async def connect(port: int) -> AsyncModbusTcpClient:
    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=2, retries=0)
    assert await client.connect()
    return client


def _layout(model_id: int) -> dict[str, tuple[int, Point]]:
    offsets, offset = {}, 0
    for p in MODEL_TABLES[model_id]:
        offsets[p.name] = (offset, p)
        offset += p.size
    return offsets


def raw(model: DiscoveredModel, name: str) -> list[int]:
    """The registers of one point as read from the peer."""
    offset, p = _layout(model.model_id)[name]
    return list(model.registers[offset : offset + p.size])


def point(model: DiscoveredModel, name: str) -> float:
    """Decode a point as a client does, applying the model's scale factor."""
    layout = _layout(model.model_id)
    p = layout[name][1]
    sf = decode_point(layout[p.sf][1], raw(model, p.sf)) if p.sf else None
    value = decode_point(p, raw(model, name), sf if isinstance(sf, int) else None)
    assert isinstance(value, int | float)
    return float(value)


async def models_of(client: AsyncModbusTcpClient, **kw: int) -> dict[int, DiscoveredModel]:
    return {m.model_id: m for m in await discover(client, **kw)}


async def test_discovery_chain_and_common_model(sim: InverterSimulator) -> None:
    client = await connect(sim.port)
    try:
        models = await discover(client)
        assert [(m.model_id, m.address, m.length) for m in models] == [
            (1, 40002, 66), (701, 40070, 153), (704, 40225, 65), (713, 40292, 7), (802, 40301, 62),
        ]  # fmt: skip
        assert await read_block(client, 40365, 2, 1) == [0xFFFF, 0]
        common = models[0].registers
        assert bytes(b for r in common[:16] for b in r.to_bytes(2, "big")).rstrip(b"\0") == (
            b"PileBridge"
        )
        assert common[32:40] == (0,) * 8  # Opt: a string left unimplemented
        wrong_base = await client.read_holding_registers(0, count=2, device_id=1)
        assert wrong_base.isError() and wrong_base.exception_code == 2
    finally:
        client.close()


async def test_scale_factors_and_sentinels(sim: InverterSimulator) -> None:
    client = await connect(sim.port)
    try:
        m = await models_of(client)
        assert point(m[713], "WHRtg") == 100_000  # 10000 x 10^1
        assert raw(m[701], "W_SF") == [1]  # 55 kW does not fit an int16 at 10^0
        assert point(m[701], "Hz") == pytest.approx(50.0)
        assert point(m[713], "SoC") == pytest.approx(50.0)
        assert point(m[802], "SoC") == pytest.approx(50.0)
        assert point(m[802], "WChaRteMax") == 50_000
        assert raw(m[701], "PF") == [0x8000]  # int16 not implemented (idle)
        assert raw(m[701], "TotVarhInj") == [0, 0, 0, 0]  # acc64 not implemented
        assert raw(m[701], "DERMode") == [0xFFFF, 0xFFFF]  # bitfield32 not implemented
        assert raw(m[704], "PF_SF") == [0x8000]  # power-factor controls unimplemented
        assert raw(m[802], "DisChaRte") == [0xFFFF]  # uint16 not implemented
    finally:
        client.close()


async def test_wset_is_obeyed_and_soc_moves(sim: InverterSimulator, clock: FakeClock) -> None:
    client = await connect(sim.port)
    img = sim.storage.image
    try:
        await client.write_register(img.address_of(704, "WSetEna"), 1, device_id=1)
        reply = await client.write_registers(
            img.address_of(704, "WSet"), [0xFFFF, (-20_000) & 0xFFFF], device_id=1
        )
        assert not reply.isError()
        await clock.advance(1800)  # 30 min charging at 20 kW = 10 kWh = 10 %
        m = await models_of(client)
        assert point(m[701], "W") == -20_000  # absorbing: negative in model 701
        assert point(m[802], "W") == -20_000
        assert point(m[713], "SoC") == pytest.approx(60.0)
        assert point(m[701], "TotWhAbs") == pytest.approx(10_000)
        assert sim.battery.soc_pct == pytest.approx(60.0)
        await client.write_registers(img.address_of(704, "WSet"), [0, 30_000], device_id=1)
        await clock.advance(600)
        m = await models_of(client)
        assert point(m[701], "W") == 30_000
        assert point(m[713], "SoC") == pytest.approx(55.0)
    finally:
        client.close()


async def test_reversion_timer_reverts_the_setpoint(
    sim: InverterSimulator, clock: FakeClock
) -> None:
    client = await connect(sim.port)
    img = sim.storage.image
    try:
        await client.write_registers(img.address_of(704, "WSetRvrtTms"), [0, 60], device_id=1)
        await client.write_register(img.address_of(704, "WSetEna"), 1, device_id=1)
        await client.write_registers(img.address_of(704, "WSet"), [0, 10_000], device_id=1)
        await clock.advance(45)
        rem = await read_block(client, img.address_of(704, "WSetRvrtRem"), 2, 1)
        assert rem == [0, 15]
        await clock.advance(30)
        ena = await read_block(client, img.address_of(704, "WSetEna"), 1, 1)
        w = await read_block(client, img.address_of(701, "W"), 1, 1)
        assert ena == [0] and w == [0]
        assert sim.storage.der.reverted == 1
    finally:
        client.close()


async def test_soc_limits_stop_charge_and_discharge(clock: FakeClock) -> None:
    async with InverterSimulator(params=PARAMS, soc_pct=85, clock=clock) as sim:
        client = await connect(sim.port)
        img = sim.storage.image
        try:
            await client.write_register(img.address_of(704, "WSetEna"), 1, device_id=1)
            await client.write_registers(
                img.address_of(704, "WSet"), [0xFFFF, (-50_000) & 0xFFFF], device_id=1
            )
            await clock.advance(3600)
            m = await models_of(client)
            assert point(m[713], "SoC") == pytest.approx(90.0)
            assert point(m[701], "W") == 0
            assert raw(m[802], "ChaSt") == [5]  # ChaSt FULL
            await client.write_registers(img.address_of(704, "WSet"), [0, 50_000], device_id=1)
            await clock.advance(4 * 3600)
            m = await models_of(client)
            assert point(m[713], "SoC") == pytest.approx(10.0)
            assert point(m[701], "W") == 0
            assert raw(m[802], "ChaSt") == [2]  # ChaSt EMPTY
        finally:
            client.close()


async def test_write_refusals(sim: InverterSimulator) -> None:
    client = await connect(sim.port)
    img = sim.storage.image
    try:
        read_only = await client.write_register(img.address_of(701, "W"), 5, device_id=1)
        assert read_only.isError() and read_only.exception_code == 2
        unimplemented = await client.write_register(
            img.address_of(704, "VarSetEna"), 1, device_id=1
        )
        assert unimplemented.isError() and unimplemented.exception_code == 2
        bad = await client.write_register(img.address_of(704, "WSetEna"), 7, device_id=1)
        assert bad.isError() and bad.exception_code == 3
    finally:
        client.close()


async def test_legacy_profile_obeys_model_124(clock: FakeClock) -> None:
    async with InverterSimulator(
        profile="sunspec-legacy", params=PARAMS, soc_pct=50, clock=clock, base=50000
    ) as sim:
        client = await connect(sim.port)
        img = sim.storage.image
        try:
            m = await models_of(client, base=50000)
            assert list(m) == [1, 103, 124]
            await client.write_register(img.address_of(124, "InOutWRte_RvrtTms"), 900, device_id=1)
            await client.write_register(
                img.address_of(124, "OutWRte"), 4000, device_id=1
            )  # 40.00 %
            await client.write_register(img.address_of(124, "StorCtl_Mod"), 2, device_id=1)
            await clock.advance(360)
            m = await models_of(client, base=50000)
            assert point(m[103], "W") == 20_000  # discharging: positive in model 103
            assert point(m[124], "ChaState") == pytest.approx(48.0)
            assert raw(m[124], "ChaSt") == [3]  # ChaSt DISCHARGING
            await clock.advance(900)
            m = await models_of(client, base=50000)
            assert point(m[103], "W") == 0  # InOutWRte_RvrtTms expired: hold
            assert raw(m[124], "StorCtl_Mod") == [0]  # StorCtl_Mod back to 0
        finally:
            client.close()


async def test_meter_sees_loads_and_battery(clock: FakeClock) -> None:
    chargers = {"w": 22_000.0}
    async with InverterSimulator(params=PARAMS, clock=clock) as bess, MeterSimulator(
        base_load=8_000.0, other_loads=[lambda: chargers["w"]], battery=bess.battery,
        clock=clock, unit_id=3,
    ) as meter:  # fmt: skip
        bclient, mclient = await connect(bess.port), await connect(meter.port)
        try:
            img = bess.storage.image
            await bclient.write_register(img.address_of(704, "WSetEna"), 1, device_id=1)
            await bclient.write_registers(img.address_of(704, "WSet"), [0, 10_000], device_id=1)
            await clock.advance(1)
            bess.sync()
            m = await models_of(mclient, device_id=3)
            assert [*m] == [1, 203]
            assert point(m[203], "W") == 20_000  # 8 + 22 - 10 kW, import positive
            assert point(m[203], "WphA") == pytest.approx(20_000 / 3, abs=10)
        finally:
            bclient.close()
            mclient.close()


async def test_inverter_and_meter_on_one_port(clock: FakeClock) -> None:
    async with InverterSimulator(
        params=PARAMS, clock=clock, meter_unit_id=2, base_load=5_000.0
    ) as sim:
        client = await connect(sim.port)
        try:
            assert list(await models_of(client, device_id=2)) == [1, 203]
            assert 704 in await models_of(client, device_id=1)
            m = await models_of(client, device_id=2)
            assert point(m[203], "W") == 5_000
        finally:
            client.close()


async def test_new_setpoint_shows_at_once_and_unknown_units_get_0x0b(
    sim: InverterSimulator,
) -> None:
    client = await connect(sim.port)
    img = sim.storage.image
    try:
        await client.write_register(img.address_of(704, "WSetEna"), 1, device_id=1)
        await client.write_registers(img.address_of(704, "WSet"), [0, 12_000], device_id=1)
        assert await read_block(client, img.address_of(701, "W"), 1, 1) == [1200]  # x 10^1
        other = await client.read_holding_registers(40000, count=2, device_id=9)
        assert other.isError() and other.exception_code == 0x0B
    finally:
        client.close()


async def test_a_refused_write_changes_nothing(sim: InverterSimulator) -> None:
    client = await connect(sim.port)
    img = sim.storage.image
    try:
        start = img.address_of(704, "WSetEna")
        # WSetEna=1, WSetMod=1, WSet=5000 W, WSetRvrt=0, WSetPct=200 % (refused)
        values = [1, 1, 0, 5000, 0, 0, 20_000]
        reply = await client.write_registers(start, values, device_id=1)
        assert reply.isError() and reply.exception_code == 3
        assert sim.storage.der.ena == 0 and sim.storage.der.wset_w == 0
        assert await read_block(client, start, 1, 1) == [0]
    finally:
        client.close()


async def test_update_loop_runs_physics_in_scaled_real_time() -> None:
    clock = ScaledClock(scale=3600.0)  # an hour per second
    async with InverterSimulator(params=PARAMS, clock=clock, update_interval_s=60.0) as sim:
        client = await connect(sim.port)
        img = sim.storage.image
        try:
            await client.write_register(img.address_of(704, "WSetEna"), 1, device_id=1)
            await client.write_registers(img.address_of(704, "WSet"), [0, 10_000], device_id=1)
        finally:
            client.close()
        soc = sim.battery.soc_pct
        await asyncio.sleep(0.3)  # no Modbus request: only the update loop moves physics
        assert sim.battery.soc_pct < soc
