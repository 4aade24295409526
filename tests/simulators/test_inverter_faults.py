"""Every injected fault is visible to a real pymodbus client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from gateway.foundation.clock import FakeClock
from simulators.inverter import GARBAGE_MODES, Faults, InverterSimulator

MARKER_AND_COMMON = [0x5375, 0x6E53, 1, 66]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def sim(clock: FakeClock) -> AsyncIterator[InverterSimulator]:
    async with InverterSimulator(clock=clock, faults=Faults(seed=7)) as sim:
        yield sim


async def connect(port: int, reply_timeout: float = 1.0) -> AsyncModbusTcpClient:
    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=reply_timeout, retries=0)
    assert await client.connect()
    return client


async def read_head(client: AsyncModbusTcpClient) -> list[int] | None:
    """The first four registers, or None when the reply was unusable."""
    try:
        reply = await client.read_holding_registers(40000, count=4, device_id=1)
    except ModbusException:
        return None
    return None if reply.isError() else list(reply.registers)


async def test_busy_for_n_requests(sim: InverterSimulator) -> None:
    client = await connect(sim.port)
    try:
        sim.faults.busy(n=2)
        codes = []
        for _ in range(3):
            reply = await client.read_holding_registers(40000, count=2, device_id=1)
            codes.append(reply.exception_code if reply.isError() else 0)
        assert codes == [6, 6, 0]
        sim.faults.busy(n=1)
        write = await client.write_register(
            sim.storage.image.address_of(704, "WSetEna"), 1, device_id=1
        )
        assert write.isError() and write.exception_code == 6
        assert sim.storage.der.ena == 0  # a busy reply changes nothing
    finally:
        client.close()


async def test_exceptions_with_probability(sim: InverterSimulator) -> None:
    client = await connect(sim.port)
    try:
        sim.faults.exception(4, n=0, p=0.5)
        errors = 0
        for _ in range(40):
            reply = await client.read_holding_registers(40000, count=2, device_id=1)
            if reply.isError():
                assert reply.exception_code == 4
                errors += 1
        assert 5 < errors < 35
        sim.faults.clear()
        assert await read_head(client) == MARKER_AND_COMMON
    finally:
        client.close()


async def test_delay_makes_a_short_timeout_client_time_out(sim: InverterSimulator) -> None:
    client = await connect(sim.port, reply_timeout=0.2)
    try:
        sim.faults.delay(0.6)
        assert await read_head(client) is None
        sim.faults.delay(0)
        await asyncio.sleep(0.6)  # let the late reply arrive and be discarded
        assert await read_head(client) == MARKER_AND_COMMON
    finally:
        client.close()


async def test_delay_is_observed_by_a_patient_client(sim: InverterSimulator) -> None:
    client = await connect(sim.port, reply_timeout=3)
    try:
        sim.faults.delay(0.3)
        started = time.monotonic()
        assert await read_head(client) == MARKER_AND_COMMON
        assert time.monotonic() - started >= 0.3
    finally:
        client.close()


async def test_frozen_values_stop_updating(sim: InverterSimulator, clock: FakeClock) -> None:
    client = await connect(sim.port)
    img = sim.storage.image
    soc_addr = img.address_of(713, "SoC")
    try:
        await client.write_register(img.address_of(704, "WSetEna"), 1, device_id=1)
        await client.write_registers(img.address_of(704, "WSet"), [0, 20_000], device_id=1)
        await clock.advance(60)
        before = (await client.read_holding_registers(soc_addr, count=1, device_id=1)).registers
        sim.faults.freeze()
        await clock.advance(1800)
        frozen = (await client.read_holding_registers(soc_addr, count=1, device_id=1)).registers
        assert frozen == before
        assert sim.battery.soc_pct < before[0] / 10 - 5  # the physics went on
        sim.faults.unfreeze()
        after = (await client.read_holding_registers(soc_addr, count=1, device_id=1)).registers
        assert after[0] < before[0]
    finally:
        client.close()


@pytest.mark.parametrize("mode", GARBAGE_MODES)
async def test_garbage_reply_is_seen_then_recovers(sim: InverterSimulator, mode: str) -> None:
    client = await connect(sim.port, reply_timeout=0.3)
    try:
        sim.faults.garbage(mode, n=1)
        head = await read_head(client)
        assert head != MARKER_AND_COMMON
        assert sim.faults.counts[f"garbage_{mode}"] == 1
        await asyncio.sleep(0.1)
        if not client.connected:
            assert await client.connect()
        assert await read_head(client) == MARKER_AND_COMMON
    finally:
        client.close()


async def test_drop_closes_connections(sim: InverterSimulator) -> None:
    client = await connect(sim.port)
    try:
        assert await read_head(client) == MARKER_AND_COMMON
        await sim.drop()
        await asyncio.sleep(0.1)
        assert not client.connected
        assert await read_head(client) is None
        assert await client.connect()  # still accepting
        assert await read_head(client) == MARKER_AND_COMMON
    finally:
        client.close()


async def test_drop_with_refusal_then_accepts_again(sim: InverterSimulator) -> None:
    port = sim.port
    await sim.drop(refuse_s=0.3)
    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=0.5, retries=0)
    try:
        assert not await client.connect()
        async with asyncio.timeout(10):
            await sim.server.wait_listening()
        assert sim.port == port
        assert await client.connect()
        assert await read_head(client) == MARKER_AND_COMMON
    finally:
        client.close()


def test_fault_arguments_are_checked() -> None:
    faults = Faults()
    with pytest.raises(ValueError):
        faults.garbage("nonsense")
    with pytest.raises(ValueError):
        faults.delay(-1)
    with pytest.raises(ValueError):
        faults.busy(1, p=2.0)


async def test_a_late_reply_keeps_its_own_transaction_id(sim: InverterSimulator) -> None:
    client = await connect(sim.port, reply_timeout=0.25)
    try:
        sim.faults.delay(0.4)
        assert await read_head(client) is None  # times out; its reply comes at 0.4 s
        sim.faults.delay(0.2)
        try:
            reply = await client.read_holding_registers(40002, count=2, device_id=1)
        except ModbusException:
            return  # refusing the stale reply is fine
        assert reply.isError() or list(reply.registers) == [1, 66]  # never the old data
    finally:
        client.close()
