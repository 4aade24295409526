"""Setpoints on a simulated battery: clamping, leases and fallback, device reversion, modes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest

from drivers.modbus.driver import ModbusDriver
from drivers.modbus.errors import ExceptionReply, NotAccepted
from gateway.foundation.aio import cancel_and_wait
from gateway.foundation.clock import FakeClock, SystemClock
from gateway.foundation.commands.router import CommandRouter
from gateway.foundation.commands.schemas import ModeCommand, SetpointCommand
from gateway.foundation.config import Config
from gateway.foundation.leases import LeaseTable
from gateway.foundation.model import (
    CommandRequest,
    CommandResult,
    CommandSource,
    CommandStatus,
    DeviceKind,
    StorageState,
)
from simulators.inverter import BatteryParams, InverterSimulator
from tests.drivers.modbus.conftest import device_config, eventually, running_device

PARAMS = BatteryParams(capacity_wh=100_000, max_charge_w=50_000, max_discharge_w=40_000)


@dataclass
class Driven:
    """The Modbus driver on one simulated battery, its commands sent through the router, which
    grants their leases in `leases` (as the gateway does)."""

    driver: ModbusDriver
    leases: LeaseTable
    records: list[Any]

    @property
    def storage(self) -> Any:
        return self.driver.storage("bess-1")

    async def send(
        self, name: str, args: Any, source: CommandSource = CommandSource.COMMAND
    ) -> CommandResult:
        request = CommandRequest(DeviceKind.STORAGE, "bess-1", name, None, {}, source)
        return await self.driver.context.router.dispatch(request, args)

    def states(self) -> list[StorageState]:
        return [r for r in self.records if isinstance(r, StorageState)]


@contextlib.asynccontextmanager
async def driven(
    sim: InverterSimulator, clock: FakeClock, **overrides: Any
) -> AsyncIterator[Driven]:
    device_cfg = device_config(sim.port, **overrides).model_dump()
    config = Config.model_validate({"site": {"id": "s"}, "modbus": {"devices": [device_cfg]}})
    records: list[Any] = []
    leases = LeaseTable(clock)
    context: Any = SimpleNamespace(
        config=config, recorder=SimpleNamespace(record=records.append),
        router=CommandRouter(leases=leases), leases=leases, clock=clock,
    )  # fmt: skip
    driver = ModbusDriver(context)
    await driver.start()
    device = driver.devices["bess-1"]
    task = asyncio.create_task(device.run())
    try:
        await eventually(lambda: device.connected, clock)
        yield Driven(driver, leases, records)
    finally:
        await device.stop()
        await cancel_and_wait([task])
        await leases.settle()


async def test_clamped_to_config_and_device_limits(clock: FakeClock) -> None:
    async with InverterSimulator(params=PARAMS, clock=clock) as sim:
        cfg = device_config(sim.port, max_charge_w=30_000)  # discharge: only the device's 40 kW
        async with running_device(cfg, clock) as run:
            await eventually(lambda: run.device.connected, clock)
            assert run.storage is not None
            out = await run.storage.set_power_w(45_000, source=CommandSource.COMMAND)
            assert (out.applied_w, out.clamped) == (30_000, True)
            assert out.reason is not None and "max_charge_w 30000" in out.reason
            out = await run.storage.set_power_w(-45_000, source=CommandSource.COMMAND)
            assert (out.applied_w, out.clamped) == (-40_000, True)
            out = await run.storage.set_power_w(-12_000, source=CommandSource.COMMAND)
            assert (out.applied_w, out.clamped, out.reason) == (-12_000, False, None)
            await eventually(lambda: sim.battery.power_w == pytest.approx(-12_000), clock)
            assert sim.storage.writes[-1][1:] == (704, "WSetRvrt", 0)


async def test_soc_window_blocks_discharge_below_min_and_follows_soc(clock: FakeClock) -> None:
    async with InverterSimulator(params=PARAMS, soc_pct=10.5, clock=clock) as sim:
        cfg = device_config(sim.port, soc_min_pct=10, soc_max_pct=90)
        async with running_device(cfg, clock) as run:
            await eventually(lambda: run.device.connected, clock)
            assert run.storage is not None
            out = await run.storage.set_power_w(-20_000, source=CommandSource.COMMAND)
            assert out.applied_w == -20_000
            # 0.5 % of 100 kWh at 20 kW is ~90 s: the gateway re-clamps as the SoC falls.
            await eventually(lambda: run.storage is not None and run.storage.setpoint_w == 0, clock,
                             step_s=2.0)  # fmt: skip
            assert run.storage.soc_pct() is not None and run.storage.soc_pct() <= 10.05  # type: ignore[operator]
            out = await run.storage.set_power_w(-5_000, source=CommandSource.COMMAND)
            assert out.applied_w == 0 and out.clamped and "soc_min_pct" in (out.reason or "")
            out = await run.storage.set_power_w(5_000, source=CommandSource.COMMAND)
            assert out.applied_w == 5_000


async def test_lease_expiry_returns_to_fallback_and_state_says_why(clock: FakeClock) -> None:
    async with (
        InverterSimulator(params=PARAMS, clock=clock) as sim,
        driven(sim, clock, fallback_power_w=-1_000) as run,
    ):
        result = await run.send("setpoint", SetpointCommand(power_w=-25_000, ttl_s=30))
        state = run.states()[-1]
        assert state.setpoint is not None and state.setpoint.power_w == -25_000
        assert state.setpoint.expires_at is not None and state.reason is None
        # The result, the state and the lease granted by the router show one expiry.
        lease = run.leases.get((DeviceKind.STORAGE, "bess-1"))
        assert lease is not None and lease.expires_at is not None
        assert lease.expires_at == pytest.approx(state.setpoint.expires_at.timestamp(), abs=1e-3)
        assert result.detail["expires_at"] == state.setpoint.expires_at.isoformat().replace(
            "+00:00", "Z"
        )
        await clock.advance(20)
        run.leases.check()
        assert sim.battery.power_w == pytest.approx(-25_000)  # renewed in time: still held
        await run.send("setpoint", SetpointCommand(power_w=-25_000, ttl_s=30))  # renewal
        await clock.advance(25)
        run.leases.check()
        assert run.storage.setpoint_w == -25_000
        await clock.advance(10)
        run.leases.check()
        await run.leases.settle()
        assert run.storage.setpoint_w == -1_000
        state = run.states()[-1]
        assert state.reason == "lease_expired"
        assert state.setpoint is not None and state.setpoint.source == "fallback"
        await eventually(lambda: sim.battery.power_w == pytest.approx(-1_000), clock)


async def test_a_refused_setpoint_grants_no_lease(clock: FakeClock) -> None:
    async with InverterSimulator(params=PARAMS, clock=clock) as sim, driven(sim, clock) as run:
        await run.send("mode", ModeCommand(mode="idle"))
        refused = await run.send("setpoint", SetpointCommand(power_w=5_000, ttl_s=30))
        assert refused.status is CommandStatus.REJECTED
        assert run.leases.get((DeviceKind.STORAGE, "bess-1")) is None


async def test_mqtt_loss_counts_as_a_lapse(clock: FakeClock) -> None:
    async with InverterSimulator(params=PARAMS, clock=clock) as sim, driven(sim, clock) as run:
        await run.send("setpoint", SetpointCommand(power_w=15_000, ttl_s=600))
        run.leases.mqtt_connection_changed(False)
        await run.leases.settle()
        assert run.states()[-1].reason == "mqtt_lost"
        assert run.storage.setpoint_w == 0.0
        await eventually(lambda: sim.battery.power_w == 0.0, clock)


async def test_gateway_refreshes_faster_than_the_device_reverts(clock: FakeClock) -> None:
    async with InverterSimulator(params=PARAMS, clock=clock) as sim:
        cfg = device_config(sim.port, revert_timeout_s=30, poll_interval_s=1.0)
        async with running_device(cfg, clock) as run:
            assert run.storage is not None
            await eventually(lambda: run.device.connected, clock)
            await run.storage.set_power_w(-10_000, source=CommandSource.COMMAND)
            written = sum(1 for w in sim.storage.writes if w[2] == "WSetRvrtTms")
            for _ in range(120):  # two minutes, poll by poll: four times the device's own timer
                polls = run.device.polls
                await clock.advance(1.0)
                # A poll still in flight at the advance sleeps after it: nudge time on until
                # the next poll is done (a few tenths more; the timer is a quarter of this).
                await eventually(lambda: run.device.polls > polls, clock)  # noqa: B023
            assert sim.battery.power_w == pytest.approx(-10_000)
            assert sum(1 for w in sim.storage.writes if w[2] == "WSetRvrtTms") >= written + 3
        # The gateway is gone: the device's WSetRvrtTms runs out and it reverts by itself.
        await clock.advance(31)
        sim.sync()
        assert sim.battery.power_w == 0.0


async def test_legacy_124_device_reversion_timer(clock: FakeClock) -> None:
    async with InverterSimulator(profile="sunspec-legacy", params=PARAMS, clock=clock) as sim:
        cfg = device_config(sim.port, revert_timeout_s=20)
        async with running_device(cfg, clock) as run:
            await eventually(lambda: run.device.connected, clock)
            assert run.storage is not None and run.device.profile is not None
            assert run.device.profile.control is not None
            assert run.device.profile.control.revert_field == "124 InOutWRte_RvrtTms"
            out = await run.storage.set_power_w(-8_000, source=CommandSource.COMMAND)
            assert out.applied_w == pytest.approx(-8_000)
            await eventually(lambda: sim.battery.power_w == pytest.approx(-8_000), clock)
        await clock.advance(21)
        sim.sync()
        assert sim.battery.power_w == 0.0


async def test_modes_gate_who_may_set_power(clock: FakeClock) -> None:
    async with (
        InverterSimulator(params=PARAMS, clock=clock) as sim,
        running_device(device_config(sim.port), clock) as run,
    ):
        storage = run.storage
        assert storage is not None
        await eventually(lambda: run.device.connected, clock)
        with pytest.raises(NotAccepted, match="need mode 'auto'"):
            await storage.set_power_w(1_000, source=CommandSource.CONTROLLER)
        await storage.set_power_w(9_000, source=CommandSource.COMMAND)
        await storage.set_mode("idle")
        assert storage.setpoint_w == 0.0
        with pytest.raises(NotAccepted, match="mode 'idle'"):
            await storage.set_power_w(1_000, source=CommandSource.COMMAND)
        await storage.set_mode("auto")
        assert sim.storage.writes[-1][1:] == (704, "WSetEna", 0)  # control handed back
        out = await storage.set_power_w(2_000, source=CommandSource.CONTROLLER)
        assert out.applied_w == 2_000
        assert run.of(StorageState)[-1].mode == "auto"
        assert run.of(StorageState)[-1].setpoint.source == "controller"


async def test_offline_device_rejects_and_device_refusal_surfaces(clock: FakeClock) -> None:
    async with (
        InverterSimulator(params=PARAMS, clock=clock) as sim,
        running_device(device_config(sim.port), clock) as run,
    ):
        assert run.storage is not None
        with pytest.raises(NotAccepted, match="not connected"):
            await run.storage.set_power_w(1_000, source=CommandSource.COMMAND)
        await eventually(lambda: run.device.connected, clock)
        sim.faults.exception(4, n=1)  # server device failure on the first write
        with pytest.raises(ExceptionReply) as err:
            await run.storage.set_power_w(1_000, source=CommandSource.COMMAND)
        assert err.value.code == 4


async def test_device_alarms_reach_the_state(clock: FakeClock) -> None:
    async with (
        InverterSimulator(params=PARAMS, clock=clock) as sim,
        running_device(device_config(sim.port), clock) as run,
    ):
        await eventually(lambda: run.device.connected, clock)
        sim.faults.freeze()  # keep the simulator from rewriting the bitfields
        sim.storage.set_values(701, {"Alrm": 1 << 7})
        sim.storage.set_values(802, {"Evt1": 1 << 13})
        await eventually(lambda: run.of(StorageState)[-1].alarms != (), clock)
        assert run.of(StorageState)[-1].alarms == ("over_temp", "under_soc_min_alarm")


@pytest.mark.parametrize("refuse_s", [0.0, 0.5], ids=["blip", "outage"])
async def test_held_setpoint_is_rewritten_after_the_device_returns(refuse_s: float) -> None:
    clock = SystemClock()
    async with (
        InverterSimulator(params=PARAMS) as sim,
        running_device(device_config(sim.port, revert_timeout_s=600), clock) as run,
    ):
        assert run.storage is not None
        await eventually(lambda: run.device.connected)
        await run.storage.set_power_w(-7_000, source=CommandSource.COMMAND)
        await sim.drop(refuse_s=refuse_s)
        sim.storage.write(sim.storage.image.address_of(704, "WSetEna"), [0], sim.clock.monotonic())
        assert sim.battery.power_w == 0.0  # as after a reboot: the setpoint is gone
        # Whether or not the drop lasted the polls that show the device offline, the new
        # connection alone brings the setpoint back (its own refresh is 200 s away).
        await eventually(lambda: run.device.sessions >= 2)
        await eventually(lambda: sim.battery.power_w == pytest.approx(-7_000))


async def test_router_requests_from_the_site_controller_belong_to_mode_auto(
    clock: FakeClock,
) -> None:
    async with InverterSimulator(params=PARAMS, clock=clock) as sim, driven(sim, clock) as run:
        args = SetpointCommand(power_w=-3_000, ttl_s=30)
        refused = await run.send("setpoint", args, CommandSource.CONTROLLER)
        assert refused.status is CommandStatus.REJECTED and "mode 'auto'" in (refused.reason or "")
        await run.send("mode", ModeCommand(mode="auto"))
        ok = await run.send("setpoint", args, CommandSource.CONTROLLER)
        assert ok.status is CommandStatus.ACCEPTED and ok.detail["applied_power_w"] == -3_000
        storage = run.storage
        assert storage.state().setpoint.source == "controller"
        assert storage.state().setpoint.expires_at is not None
        assert ok.detail["expires_at"]
        # The controller's TTL is a lease too, but losing MQTT does not end it.
        lease = run.leases.get((DeviceKind.STORAGE, "bess-1"))
        assert lease is not None and lease.source is CommandSource.CONTROLLER
        run.leases.mqtt_connection_changed(False)
        assert run.leases.get((DeviceKind.STORAGE, "bess-1")) is lease
        manual = await run.send("setpoint", args)
        assert manual.status is CommandStatus.REJECTED and "mode 'manual'" in (manual.reason or "")
        # A controller that stops renewing: its setpoint lapses to the fallback.
        await clock.advance(31)
        run.leases.check()
        await run.leases.settle()
        assert storage.state().setpoint.source == "fallback"
        assert storage.state().reason == "lease_expired"


async def test_a_mode_change_ends_the_setpoint_lease(clock: FakeClock) -> None:
    async with InverterSimulator(params=PARAMS, clock=clock) as sim, driven(sim, clock) as run:
        await run.send("mode", ModeCommand(mode="manual"))
        await run.send("setpoint", SetpointCommand(power_w=9_000, ttl_s=60))
        assert run.leases.get((DeviceKind.STORAGE, "bess-1")) is not None
        done = await run.send("mode", ModeCommand(mode="idle"))
        assert done.status is CommandStatus.ACCEPTED
        assert run.leases.get((DeviceKind.STORAGE, "bess-1")) is None
        await clock.advance(61)
        run.leases.check()
        await run.leases.settle()
        assert run.storage.setpoint_w == 0.0 and run.states()[-1].reason is None
