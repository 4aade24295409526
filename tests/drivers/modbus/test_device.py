"""The poll loop against the simulator: telemetry, sign convention, drops, slow and bad devices."""

from __future__ import annotations

import asyncio

import pytest
from structlog.testing import capture_logs

from drivers.modbus.device import ModbusDevice
from gateway.foundation.clock import FakeClock, SystemClock
from gateway.foundation.model import MeterState, MeterTelemetry, StorageState, StorageTelemetry
from simulators.inverter import BatteryParams, InverterSimulator, MeterSimulator
from tests.drivers.modbus.conftest import device_config, eventually, running_device

PARAMS = BatteryParams(capacity_wh=100_000, max_charge_w=50_000, max_discharge_w=50_000)


async def test_sunspec_telemetry_with_scale_factors(clock: FakeClock) -> None:
    async with InverterSimulator(params=PARAMS, soc_pct=42.0, clock=clock) as sim:
        cfg = device_config(sim.port)
        async with running_device(cfg, clock) as run:
            await eventually(lambda: bool(run.of(StorageTelemetry)), clock)
            t = run.of(StorageTelemetry)[-1]
            assert t.soc_pct == pytest.approx(42.0, abs=0.1)
            assert t.power_w == 0.0
            assert t.max_charge_w == 50_000 and t.max_discharge_w == 50_000
            assert t.frequency_hz == pytest.approx(50.0)
            assert t.soh_pct is not None and 0 < t.soh_pct <= 100
            assert t.energy_charged_wh is None  # acc64 = 0: "not implemented" until it counts
            assert run.device.identity["manufacturer"]
            assert run.device.profile is not None
            assert run.device.profile.source == "sunspec 1/701/704/713/802"
            states = run.of(StorageState)
            assert states and states[-1].connected and states[-1].identity


@pytest.mark.parametrize("profile", ["sunspec", "sunspec-legacy"])
async def test_sign_convention_charging_positive_discharging_negative(
    profile: str, clock: FakeClock
) -> None:
    async with (
        InverterSimulator(profile=profile, params=PARAMS, clock=clock) as sim,
        running_device(device_config(sim.port), clock) as run,
    ):
        await eventually(lambda: run.device.connected, clock)
        assert run.storage is not None
        await run.storage.set_power_w(-20_000, source="command")
        await eventually(lambda: run.device.values.get("power_w") == -20_000, clock)
        assert sim.battery.power_w == pytest.approx(-20_000)  # discharging, simulator side
        soc_before = sim.battery.soc_pct
        await run.storage.set_power_w(10_000, source="command")
        await eventually(lambda: run.device.values.get("power_w") == 10_000, clock)
        await clock.advance(60)
        assert sim.battery.soc_pct > soc_before
        if profile == "sunspec":
            current = run.device.values.get("current_a")
            assert isinstance(current, float) and current > 0  # into the battery


async def test_meter_telemetry_per_phase(clock: FakeClock) -> None:
    async with MeterSimulator(base_load=9_000.0, clock=clock) as sim:
        cfg = device_config(sim.port, id="grid", kind="meter")
        async with running_device(cfg, clock) as run:
            await eventually(lambda: bool(run.of(MeterTelemetry)), clock)
            t = run.of(MeterTelemetry)[-1]
            assert t.power_w == pytest.approx(9_000, abs=10)
            assert t.phases is not None and set(t.phases) == {"L1", "L2", "L3"}
            assert t.phases["L1"].power_w == pytest.approx(3_000, abs=10)
            assert t.phases["L1"].voltage_v == pytest.approx(230, abs=1)
            assert t.frequency_hz == pytest.approx(50)
            assert run.of(MeterState)[-1].connected


async def test_invert_power_for_meters_with_the_other_sign(clock: FakeClock) -> None:
    async with MeterSimulator(base_load=9_000.0, clock=clock) as sim:
        cfg = device_config(sim.port, id="grid", kind="meter", invert_power=True)
        async with running_device(cfg, clock) as run:
            await eventually(lambda: bool(run.of(MeterTelemetry)), clock)
            assert run.of(MeterTelemetry)[-1].power_w == pytest.approx(-9_000, abs=10)


async def test_a_dropped_device_is_shown_disconnected_and_returns() -> None:
    clock = SystemClock()
    async with InverterSimulator(params=PARAMS) as sim:
        with capture_logs() as logs:
            async with running_device(device_config(sim.port), clock) as run:
                await eventually(lambda: run.device.connected)
                await sim.drop(refuse_s=1.0)
                await eventually(lambda: not run.device.connected)
                assert run.of(StorageState)[-1].connected is False
                assert run.of(StorageState)[-1].reason == "device_unreachable"
                await sim.server.wait_listening()
                await eventually(lambda: run.device.connected)
                assert run.of(StorageState)[-1].connected is True
                polls = run.device.polls
                await eventually(lambda: run.device.polls > polls + 2)
    mine = [e for e in logs if e.get("device_id") == "bess-1"]
    assert [e["event"] for e in mine if e["event"].startswith("modbus_device_")] == [
        "modbus_device_connected",
        "modbus_device_lost",
        "modbus_device_connected",
    ]


async def test_unreachable_device_at_start_keeps_trying() -> None:
    clock = SystemClock()
    async with InverterSimulator(params=PARAMS) as sim:
        port = sim.port
    cfg = device_config(port)
    async with running_device(cfg, clock) as run:
        await eventually(lambda: run.device.failures >= 2)
        assert not run.device.connected
        async with InverterSimulator(params=PARAMS, port=port):
            await eventually(lambda: run.device.connected, timeout_s=15)


async def test_a_slow_device_does_not_delay_a_fast_one() -> None:
    clock = SystemClock()
    async with (
        InverterSimulator(params=PARAMS) as slow_sim,
        InverterSimulator(params=PARAMS) as fast_sim,
    ):
        slow_cfg = device_config(slow_sim.port, id="slow", timeout_s=3.0)
        fast_cfg = device_config(fast_sim.port, id="fast")
        async with (
            running_device(slow_cfg, clock) as slow,
            running_device(fast_cfg, clock) as fast,
        ):
            await eventually(lambda: slow.device.connected and fast.device.connected)
            slow_sim.faults.delay(30.0)  # every reply now hangs past the slow device's timeout
            await asyncio.sleep(0.3)  # let the slow device get stuck in a request
            stuck_at = slow.device.polls
            fast_before = fast.device.polls
            await eventually(lambda: fast.device.polls >= fast_before + 5)
            assert slow.device.polls == stuck_at  # still waiting on its own request


@pytest.mark.parametrize(
    "mode", ["byte_count", "mbap_length", "truncate", "wrong_tid", "silent", "registers"]
)
async def test_garbage_replies_do_not_break_the_poll_loop(mode: str) -> None:
    clock = SystemClock()
    async with InverterSimulator(params=PARAMS, soc_pct=64.0) as sim:
        cfg = device_config(sim.port, timeout_s=0.3)
        async with running_device(cfg, clock) as run:
            await eventually(lambda: run.device.connected)
            sim.faults.garbage(mode, n=3)
            await eventually(lambda: sim.faults.garbage_remaining == 0)
            polls = run.device.polls
            await eventually(lambda: run.device.polls >= polls + 3)
            assert not run.task.done()
            t = run.of(StorageTelemetry)[-1]
            assert t.soc_pct == pytest.approx(64.0, abs=0.1)
            for record in run.of(StorageTelemetry):  # nothing implausible was ever published
                assert record.soc_pct is None or 0 <= record.soc_pct <= 100


async def test_busy_device_backs_off_without_being_lost(clock: FakeClock) -> None:
    async with (
        InverterSimulator(params=PARAMS, clock=clock) as sim,
        running_device(device_config(sim.port), clock) as run,
    ):
        await eventually(lambda: run.device.connected, clock)
        sim.faults.busy(n=5)
        await eventually(lambda: sim.faults.exc_remaining == 0, clock)
        polls = run.device.polls
        await eventually(lambda: run.device.polls > polls, clock)
        assert all(s.connected for s in run.of(StorageState)[1:])


def test_device_refuses_a_bad_register_map_at_construction() -> None:
    cfg = device_config(1, profile="no-such-map")
    with pytest.raises(FileNotFoundError):
        ModbusDevice(cfg, record=lambda r: None, clock=SystemClock())


async def test_polls_keep_to_the_interval_grid_whenever_the_device_started(
    clock: FakeClock,
) -> None:
    """Fixed rate on multiples of the interval: no drift, and devices poll in step."""
    await clock.advance(0.25)  # started off the grid
    polled_at: list[float] = []

    async def note_poll() -> None:
        polled_at.append(clock.monotonic())

    async with MeterSimulator(base_load=9_000.0, clock=clock) as sim:
        cfg = device_config(sim.port, kind="meter", poll_interval_s=1.0)
        async with running_device(cfg, clock) as run:
            run.device.on_poll = note_poll
            await eventually(lambda: len(polled_at) == 1)
            for step in range(1, 16):  # to 4.25 s in quarter seconds
                await clock.advance(0.25)
                if step % 4 == 3:  # a whole second: the poll due now, with the clock held
                    due = 2 + step // 4
                    await eventually(lambda: len(polled_at) == due)  # noqa: B023
    assert polled_at == [0.25, 1.0, 2.0, 3.0, 4.0]
