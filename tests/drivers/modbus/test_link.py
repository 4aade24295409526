"""The link's reads against the simulator's real pymodbus server: the blocks of a poll, the
message counters, and which read an error names."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest

from drivers.modbus.blocks import ReadBlock
from drivers.modbus.errors import DeviceBusy, ExceptionReply, LinkError
from drivers.modbus.link import ModbusLink
from gateway.foundation.metrics import REGISTRY
from simulators.inverter import InverterSimulator
from simulators.inverter.image import SUNS_MARKER

MARKER = ReadBlock(1, 40000, 2)
HEADER = ReadBlock(1, 40002, 2)  # model 1's id and length


def counted() -> tuple[float, float]:
    """pilebridge_messages_total{protocol="modbus"}: (out, in)."""

    def value(direction: str) -> float:
        sample = REGISTRY.get_sample_value(
            "pilebridge_messages_total", {"protocol": "modbus", "direction": direction}
        )
        return sample or 0.0

    return value("out"), value("in")


@contextlib.asynccontextmanager
async def linked(timeout_s: float = 1.0) -> AsyncIterator[tuple[InverterSimulator, ModbusLink]]:
    async with InverterSimulator() as sim:
        link = ModbusLink("127.0.0.1", sim.port, timeout_s=timeout_s)
        await link.connect()
        try:
            yield sim, link
        finally:
            link.close()


async def test_blocks_read_as_single_reads_and_counted_once_each() -> None:
    async with linked() as (_, link):
        before = counted()
        replies = await link.read_blocks([MARKER, HEADER])
        assert counted() == (before[0] + 2, before[1] + 2)
        assert tuple(replies[0]) == SUNS_MARKER
        assert replies[1] == await link.read(1, 40002, 2)
        assert replies[1] == [1, 66]
        assert await link.read_blocks([]) == []


async def test_an_exception_reply_names_its_read_and_keeps_the_connection() -> None:
    async with linked() as (sim, link):
        sim.faults.exception(4, n=1)
        before = counted()
        with pytest.raises(ExceptionReply, match=r"read 40000\+2 \(unit 1\): Modbus exception 4"):
            await link.read_blocks([MARKER, HEADER])
        assert counted() == (before[0] + 1, before[1] + 1)  # the second read never went
        assert link.connected
        sim.faults.busy(n=1)
        with pytest.raises(DeviceBusy):
            await link.read_blocks([MARKER])
        assert await link.read_blocks([MARKER, HEADER])


async def test_a_silent_device_fails_the_read_it_was_asked_and_closes_the_link() -> None:
    async with linked(timeout_s=0.3) as (sim, link):
        await link.read_blocks([MARKER])
        sim.faults.garbage("silent", n=1)
        before = counted()
        with pytest.raises(LinkError, match=r"^read 40002\+2 \(unit 1\): ModbusIOException"):
            await link.read_blocks([HEADER, MARKER])
        assert counted() == (before[0] + 1, before[1])
        assert not link.connected
        with pytest.raises(LinkError, match="not connected"):
            await link.read_blocks([MARKER])
