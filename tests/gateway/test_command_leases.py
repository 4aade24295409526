"""Leases granted by the router for any source; the handler only declares what it holds.

A handler registered with `register_leased` applies a command and declares `hold(key,
withdraw)` or `end(key)`; the router grants or releases once the result is `accepted`. The
property test runs random command sequences (held, ended, refused; any TTL and source; time
passing; MQTT lost) against a model of what the lease table must then hold and withdraw.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gateway.foundation.clock import FakeClock
from gateway.foundation.commands.leasing import LeaseTerms
from gateway.foundation.commands.router import CommandRouter
from gateway.foundation.commands.schemas import SetpointCommand
from gateway.foundation.errors import DeviceRefused
from gateway.foundation.leases import LeaseTable
from gateway.foundation.model import (
    CommandRequest,
    CommandResult,
    CommandSource,
    CommandStatus,
    DeviceKind,
)

KEY = (DeviceKind.STORAGE, "bess-1")
HOLD, END, REFUSE = 1_000.0, -1_000.0, 0.0
"""The fake device's answer is chosen by the power asked for."""


class FakeBattery:
    """Applies (no I/O), declares what it holds, records what was withdrawn and why."""

    def __init__(self) -> None:
        self.withdrawn: list[str] = []
        self.seen_expiry: list[float | None] = []

    async def setpoint(
        self, request: CommandRequest, args: SetpointCommand, lease: LeaseTerms
    ) -> CommandResult:
        await asyncio.sleep(0)  # as a device write: time for anything else to run
        if args.power_w == REFUSE:
            raise DeviceRefused("device said no")
        if args.power_w == END:
            lease.end(KEY)
            return CommandResult.accepted()
        lease.hold(KEY, self.withdraw)
        self.seen_expiry.append(lease.expires_at)
        return CommandResult.accepted(expires_at=lease.expires_at)

    async def withdraw(self, reason: str) -> None:
        self.withdrawn.append(reason)


def _router(clock: FakeClock) -> tuple[CommandRouter, LeaseTable, FakeBattery]:
    leases = LeaseTable(clock)
    router = CommandRouter(leases=leases)
    battery = FakeBattery()
    router.register_leased(DeviceKind.STORAGE, "setpoint", battery.setpoint)
    router.add_device(DeviceKind.STORAGE, "bess-1")
    return router, leases, battery


async def _send(
    router: CommandRouter, power_w: float, ttl_s: float | None, source: CommandSource
) -> CommandResult:
    request = CommandRequest(DeviceKind.STORAGE, "bess-1", "setpoint", None, {}, source)
    return await router.dispatch(request, SetpointCommand(power_w=power_w, ttl_s=ttl_s))


@dataclass
class Step:
    power_w: float
    ttl_s: float | None
    source: CommandSource
    then_s: float
    mqtt_lost: bool


steps = st.builds(
    Step,
    power_w=st.sampled_from([HOLD, END, REFUSE]),
    ttl_s=st.none() | st.integers(1, 120).map(float),
    source=st.sampled_from(list(CommandSource)),
    then_s=st.integers(0, 90).map(float),
    mqtt_lost=st.booleans(),
)


@given(st.lists(steps, max_size=12))
def test_the_table_holds_what_accepted_commands_declared(sequence: list[Step]) -> None:
    asyncio.run(_check(sequence))


async def _check(sequence: list[Step]) -> None:
    clock = FakeClock()
    router, leases, battery = _router(clock)
    held: tuple[float | None, CommandSource] | None = None  # the model: (expiry, source)
    lapses: list[str] = []
    for step in sequence:
        result = await _send(router, step.power_w, step.ttl_s, step.source)
        if step.power_w == REFUSE:
            assert result.status is CommandStatus.REJECTED
        elif step.power_w == END:
            held = None
        else:
            expiry = None if step.ttl_s is None else clock.time() + step.ttl_s
            held = (expiry, step.source)
            assert result.detail["expires_at"] == expiry
        lease = leases.get(KEY)
        if held is None:
            assert lease is None
        else:
            assert lease is not None and (lease.expires_at, lease.source) == held
        await clock.advance(step.then_s)
        leases.check()
        if held is not None and held[0] is not None and held[0] <= clock.time():
            held, lapses = None, [*lapses, "lease_expired"]
        if step.mqtt_lost:
            leases.mqtt_connection_changed(False)
            if held is not None and held[0] is not None and held[1] is CommandSource.COMMAND:
                held, lapses = None, [*lapses, "mqtt_lost"]
        await leases.settle()
        assert battery.withdrawn == lapses
        assert (leases.get(KEY) is None) == (held is None)


async def test_a_refused_command_leaves_the_previous_lease() -> None:
    clock = FakeClock()
    router, leases, _ = _router(clock)
    await _send(router, HOLD, 60, CommandSource.COMMAND)
    before = leases.get(KEY)
    await clock.advance(10)
    refused = await _send(router, REFUSE, 600, CommandSource.UI)
    assert refused.status is CommandStatus.REJECTED and refused.reason == "device said no"
    assert leases.get(KEY) is before


async def test_expiry_is_fixed_when_first_read_and_the_lease_agrees() -> None:
    clock = FakeClock()
    leases = LeaseTable(clock)
    terms = LeaseTerms(leases, 30, CommandSource.CONTROLLER)
    shown = terms.expires_at
    await clock.advance(5)  # the device write takes a while after the result was built

    async def withdraw(reason: str) -> None: ...

    terms.hold(KEY, withdraw)
    terms.settle()
    lease = leases.get(KEY)
    assert lease is not None and lease.expires_at == shown == terms.expires_at
    await clock.advance(24.9)
    leases.check()
    assert leases.get(KEY) is lease
    await clock.advance(0.2)
    leases.check()
    assert leases.get(KEY) is None


async def test_a_resumed_lease_keeps_its_stored_end_and_an_ended_one_withdraws_nothing() -> None:
    clock = FakeClock()
    leases = LeaseTable(clock)
    withdrawn: list[Any] = []

    async def withdraw(reason: str) -> None:
        withdrawn.append(reason)

    end = clock.time() + 40
    lease = leases.resume("restored", end, withdraw, source=CommandSource.CONTROLLER)
    assert lease.expires_at == end
    leases.resume("ended", end, withdraw, source=CommandSource.COMMAND)
    leases.ended("ended")
    leases.mqtt_connection_changed(False)  # a controller's lease does not lapse on it
    await clock.advance(41)
    leases.check()
    await leases.settle()
    assert withdrawn == ["lease_expired"]
    assert len(leases) == 0
