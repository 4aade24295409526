"""Register-map devices on a real pymodbus server: the shipped Huawei map and a custom one."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.modbus.errors import VerifyError
from drivers.modbus.registers import encode_value
from gateway.foundation.clock import FakeClock
from gateway.foundation.model import StorageState, StorageTelemetry
from tests.drivers.modbus.conftest import device_config, eventually, running_device
from tests.drivers.modbus.register_server import RegisterServer

HUAWEI_RANGES = [(37000, 100), (37700, 100), (47000, 120), (47200, 60)]


def huawei_device(soc_tenths: int, power_w: int) -> RegisterServer:
    server = RegisterServer(HUAWEI_RANGES)
    server.set(37760, [soc_tenths])
    server.set(37763, [7684, *encode_value(-123, "int16")])  # 768.4 V, -12.3 A
    server.set(37765, encode_value(power_w, "int32"))
    server.set(37022, encode_value(-55, "int16"))  # -5.5 °C
    server.set(37780, [*encode_value(123_456, "uint32"), *encode_value(1_000, "uint32")])
    server.set(47075, [*encode_value(5_000, "uint32"), *encode_value(4_000, "uint32")])
    return server


async def test_huawei_map_telemetry(clock: FakeClock) -> None:
    async with huawei_device(soc_tenths=615, power_w=-2_500) as server:
        cfg = device_config(server.port, profile="huawei-luna2000")
        async with running_device(cfg, clock) as run:
            await eventually(lambda: bool(run.of(StorageTelemetry)), clock)
            t = run.of(StorageTelemetry)[-1]
            assert t.power_w == -2_500  # discharging, as the device reports it
            assert t.soc_pct == pytest.approx(61.5)
            assert t.voltage_v == pytest.approx(768.4) and t.current_a == pytest.approx(-12.3)
            assert t.temperature_c == pytest.approx(-5.5)
            assert t.energy_charged_wh == 1_234_560 and t.energy_discharged_wh == 10_000
            assert (t.max_charge_w, t.max_discharge_w) == (5_000, 4_000)


async def test_huawei_forcible_charge_and_discharge(clock: FakeClock) -> None:
    async with huawei_device(soc_tenths=500, power_w=0) as server:
        cfg = device_config(server.port, profile="huawei-luna2000", revert_timeout_s=300)
        async with running_device(cfg, clock) as run:
            assert run.storage is not None
            await eventually(lambda: run.device.connected, clock)
            out = await run.storage.set_power_w(-9_000, source="command")
            assert (out.applied_w, out.clamped) == (-4_000, True)  # the device's 47077 limit
            assert server.writes == [
                (47246, [0]),  # duration mode
                (47083, [5]),  # 300 s = 5 min forced period
                (47249, [0, 4_000]),  # discharge power
                (47100, [2]),  # forcible discharge
            ]
            server.writes.clear()
            await run.storage.set_power_w(0, source="command")
            assert server.writes[-1] == (47100, [0])
            await run.storage.set_mode("auto")
            assert server.writes[-1] == (47100, [0])


GENERATOR_MAP = """
name: Generator-convention test inverter
kind: storage
source: Test datasheet rev A
points:
  power_w: {address: 100, type: int32, word_order: little, unit: W, sign: generator, datasheet: "t. 1"}
  soc_pct: {address: 102, type: uint16, unit: "%", invalid: [0xFFFF], datasheet: "t. 2"}
  setpoint_w: {address: 200, type: int16, scale: 10, unit: W, sign: generator, access: RW, datasheet: "t. 3"}
  remote_enable: {address: 201, type: uint16, access: RW, datasheet: "t. 4"}
control:
  setpoint: setpoint_w
  before: [{point: remote_enable, value: 1}]
  release: [{point: remote_enable, value: 0}]
"""


async def test_custom_map_generator_convention_word_order_and_verify(
    clock: FakeClock, tmp_path: Path
) -> None:
    path = tmp_path / "gen.yaml"
    path.write_text(GENERATOR_MAP)
    async with RegisterServer([(100, 3), (200, 2)]) as server:
        server.set(100, encode_value(3_000, "int32", "little"))  # injecting 3 kW = discharging
        server.set(102, [0xFFFF])
        cfg = device_config(server.port, profile=str(path))
        async with running_device(cfg, clock) as run:
            assert run.storage is not None
            await eventually(lambda: bool(run.of(StorageTelemetry)), clock)
            t = run.of(StorageTelemetry)[-1]
            assert t.power_w == -3_000 and t.soc_pct is None
            out = await run.storage.set_power_w(12_345, source="command")
            assert out.applied_w == 12_340 and out.clamped  # 10 W register resolution
            assert server.writes == [(201, [1]), (200, encode_value(-1_234, "int16"))]
            server.ignore_writes.add(200)
            with pytest.raises(VerifyError, match="setpoint_w read back"):
                await run.storage.set_power_w(5_000, source="command")


async def test_disconnected_state_published_for_unreachable_map_device(clock: FakeClock) -> None:
    async with huawei_device(500, 0) as server:
        port = server.port
    cfg = device_config(port, profile="huawei-luna2000")
    async with running_device(cfg, clock) as run:
        run.storage.publish_state()  # type: ignore[union-attr]
        await eventually(lambda: run.device.failures >= 2, clock)
        assert run.of(StorageState)[-1].connected is False
