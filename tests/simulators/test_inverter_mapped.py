"""Devices served from register-map files: placement, scaling, sign, control, reversion."""

from __future__ import annotations

import struct

import pytest
from pymodbus.client import AsyncModbusTcpClient

from drivers.modbus.register_map import parse_register_map
from gateway.foundation.clock import FakeClock
from simulators.inverter import BatteryParams
from simulators.inverter.image import ReadOnlyPointError
from simulators.inverter.mapped_image import MappedImage
from simulators.inverter.simulator import MappedSimulator

PARAMS = BatteryParams(capacity_wh=10_000, max_charge_w=5_000, max_discharge_w=5_000,
                       round_trip_efficiency=1.0, nominal_v=50.0)  # fmt: skip

SMALL_MAP = """
name: test map
kind: storage
source: written for this test
points:
  power_w: {address: 10, type: int32, word_order: little, unit: W, sign: generator,
            datasheet: "10 power, generator sign"}
  soc_pct: {address: 12, type: uint16, scale: 0.1, unit: "%", datasheet: "12 soc in tenths"}
  setpoint_w: {address: 20, type: int16, scale: 10, unit: W, access: RW, sign: generator,
               datasheet: "20 setpoint, tens of W"}
control:
  setpoint: setpoint_w
"""
SMALL_MAP_OBJ = parse_register_map(SMALL_MAP)


def signed(reg: int) -> int:
    return reg - 0x10000 if reg >= 0x8000 else reg


async def connect(port: int) -> AsyncModbusTcpClient:
    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=2, retries=0)
    assert await client.connect()
    return client


async def read(client: AsyncModbusTcpClient, address: int, count: int, unit: int) -> list[int]:
    reply = await client.read_holding_registers(address, count=count, device_id=unit)
    assert not reply.isError(), reply
    return list(reply.registers)


def test_image_layout_scale_sign_and_word_order() -> None:
    image = MappedImage(parse_register_map(SMALL_MAP), unit_id=3)
    image.values.update({"power_w": -70_000.0, "soc_pct": 42.5, "setpoint_w": 1230.0})
    assert image.units() == [3]
    low, high = (-70_000) & 0xFFFF, ((-70_000) >> 16) & 0xFFFF
    assert image.segments(3) == [(10, [low, high, 425]), (20, [123])]
    assert image.decode_write(3, 20, [0xFFFF]) == {"setpoint_w": -10.0}
    with pytest.raises(ReadOnlyPointError):
        image.decode_write(3, 12, [1])
    with pytest.raises(ReadOnlyPointError):
        image.decode_write(3, 15, [1])  # a gap


async def test_small_map_setpoint_in_generator_convention() -> None:
    clock = FakeClock()
    async with MappedSimulator(SMALL_MAP_OBJ, params=PARAMS, clock=clock) as sim:
        client = await connect(sim.port)
        try:
            await client.write_register(20, 200, device_id=1)  # inject 2000 W = discharge
            await clock.advance(1800)
            regs = await read(client, 10, 3, 1)
            assert signed(regs[0]) + (signed(regs[1]) << 16) == 2000  # generator: + = out
            assert regs[2] == 400  # 50 % - 1 kWh of 10 kWh = 40.0 %
            assert sim.battery is not None and sim.battery.power_w == -2000
        finally:
            client.close()


async def test_victron_map_telemetry_and_setpoint() -> None:
    clock = FakeClock()
    async with MappedSimulator("victron-gx-ess", params=PARAMS, soc_pct=60, clock=clock) as sim:
        assert sorted(sim.units) == [100, 227]
        client = await connect(sim.port)
        try:
            assert sim.battery is not None
            v, a, p, soc = await read(client, 840, 4, 100)
            assert (soc, signed(p), signed(a)) == (60, 0, 0)
            assert v == round(sim.battery.voltage_v * 10)  # scale 0.1
            await client.write_register(37, 3000, device_id=227)  # charge at 3 kW (load)
            await clock.advance(1200)
            v, a, p, soc = await read(client, 840, 4, 100)
            assert signed(p) == 3000 and signed(a) > 0  # load convention: + = charging
            assert soc == 70
            assert await read(client, 37, 3, 227) == [3000, 0, 0]
            refused = await client.write_register(842, 1, device_id=100)
            assert refused.isError() and refused.exception_code == 2
        finally:
            client.close()


async def test_huawei_map_direction_and_revert_timer() -> None:
    clock = FakeClock()
    async with MappedSimulator("huawei-luna2000", params=PARAMS, clock=clock) as sim:
        client = await connect(sim.port)
        try:
            await client.write_register(47083, 2, device_id=1)  # forced for 2 minutes
            await client.write_registers(47249, [0, 4000], device_id=1)  # discharge 4 kW
            await client.write_register(47100, 2, device_id=1)  # command: discharge
            await clock.advance(60)
            regs = await read(client, 37765, 2, 1)
            assert signed(regs[0]) * 65536 + regs[1] == -4000  # load convention
            await clock.advance(600)
            assert await read(client, 37765, 2, 1) == [0, 0]
            assert await read(client, 47100, 1, 1) == [0]  # back to stop
            assert sim.battery is not None
            assert sim.battery.soc_pct == pytest.approx(50 - 4000 * 120 / 3600 / 100)
            bad = await client.write_register(47100, 7, device_id=1)
            assert bad.isError() and bad.exception_code == 3
        finally:
            client.close()


async def test_meter_map_reads_the_site() -> None:
    meter_map = parse_register_map("""
name: test meter
kind: meter
source: written for this test
points:
  power_w: {address: 0, type: float32, unit: W, datasheet: "0 total power"}
  energy_wh: {address: 2, type: uint32, scale: 100, unit: Wh, datasheet: "2 import, 0.1 kWh"}
""")
    clock = FakeClock()
    async with MappedSimulator(meter_map, base_load=12_500.0, clock=clock) as sim:
        client = await connect(sim.port)
        try:
            await clock.advance(3600)
            regs = await read(client, 0, 4, 1)
            power = struct.unpack(">f", struct.pack(">HH", regs[0], regs[1]))[0]
            assert power == 12_500.0
            assert (regs[2] << 16) + regs[3] == 125  # 12.5 kWh in 100 Wh steps
        finally:
            client.close()
