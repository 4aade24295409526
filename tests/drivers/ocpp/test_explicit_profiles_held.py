"""An explicit profile from the control centre never lifts another source's limit: it is held to
the combined cap (the controller's share, the plain cap, the rating) when sent and sent again
when that changes, against the bundled simulator, which obeys profiles as OCPP stacks them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.ocpp.core.profile_cap import cap_plan, sent_values
from gateway.demo.broker import free_port
from gateway.foundation.config import Config
from gateway.foundation.model import ChargerState, CommandStatus
from tests.drivers.ocpp.conftest import Site, running_driver
from tests.drivers.ocpp.schedule_plans import schedule_plan
from tests.drivers.ocpp.sims import CHARGER, simulated
from tests.drivers.ocpp.test_limit_sources import controller

VERSIONS = ["1.6", "2.0.1"]


def latest_state(site: Site, charger_id: str) -> ChargerState:
    state: ChargerState = site.of(ChargerState, charger_id=charger_id)[-1]
    return state


async def until(check: Callable[[], bool], timeout_s: float = 10.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not check():
            await asyncio.sleep(0.05)


@pytest.mark.parametrize("version", VERSIONS)
async def test_an_explicit_charger_max_is_held_to_the_controllers_share(
    site: Site, version: str
) -> None:
    cid = CHARGER[version]
    async with simulated(site.port, version) as sim:
        await site.connected(cid)
        assert (await controller(site, cid, power_w=10_000)).status is CommandStatus.ACCEPTED
        assert sim.limit_w(1) == 10_000
        explicit = await site.command(cid, "limit", purpose="charger_max", power_w=40_000)
        assert explicit.status is CommandStatus.ACCEPTED, explicit
        assert explicit.detail["held_to"] == {"power_w": 10_000, "source": "controller"}
        assert explicit.detail["applied_power_w"] == 10_000
        # Stack level 2 outranks the share's level 1: the charger follows what it was sent.
        assert sim.limit_w(1) == 10_000
        state = latest_state(site, cid)
        asked = [
            lim for lim in state.limits if lim.purpose == "charger_max" and lim.source == "command"
        ]
        assert [lim.power_w for lim in asked] == [22_000]  # what was asked (rating-clamped)
        assert state.limit_in_force[0].source == "controller"
        # The share rises and falls: the explicit profile follows it.
        await controller(site, cid, power_w=15_000)
        assert sim.limit_w(1) == 15_000
        await controller(site, cid, power_w=4_000)
        assert sim.limit_w(1) == 4_000
        # The controller lifts its share: the explicit profile as asked (up to the rating).
        await controller(site, cid, power_w=None)
        assert sim.limit_w(1) == 22_000
        # A plain cap from the control centre holds it too, and lifting that lifts nothing else.
        await site.command(cid, "limit", power_w=6_000)
        assert sim.limit_w(1) == 6_000
        assert latest_state(site, cid).limit_in_force[0].source == "command"
        await controller(site, cid, power_w=5_000)
        assert sim.limit_w(1) == 5_000
        await site.command(cid, "limit", power_w=None)
        assert sim.limit_w(1) == 5_000
        # Clearing the explicit profile leaves the share.
        cleared = await site.command(cid, "limit", purpose="charger_max", power_w=None)
        assert cleared.status is CommandStatus.ACCEPTED, cleared
        assert sim.limit_w(1) == 5_000


@pytest.mark.parametrize("version", VERSIONS)
async def test_an_explicit_evse_profile_is_held_to_the_evse_cap(site: Site, version: str) -> None:
    cid = CHARGER[version]
    async with simulated(site.port, version) as sim:
        await site.connected(cid)
        await sim.plug_in(1, id_tag="TAG-1")
        await until(lambda: sim.power_w(1) > 10_000)
        await site.command(cid, "limit", evse=1, power_w=7_000)
        explicit = await site.command(cid, "limit", evse=1, purpose="tx_default", power_w=20_000)
        assert explicit.detail["held_to"] == {"power_w": 7_000, "source": "command"}
        await until(lambda: sim.limit_w(1) == 7_000)
        await until(lambda: sim.power_w(1) <= 7_000)
        # A lower explicit limit is the one in force, and is shown so.
        await site.command(cid, "limit", evse=1, purpose="tx_default", power_w=3_000)
        await until(lambda: sim.limit_w(1) == 3_000)
        in_force = latest_state(site, cid).limit_in_force[1]
        assert (in_force.power_w, in_force.purpose) == (3_000, "tx_default")


async def test_the_explicit_profile_is_held_again_after_a_restart(
    config_factory: Callable[..., Config],
) -> None:
    config = config_factory(port=free_port())
    cid = CHARGER["2.0.1"]
    async with contextlib.AsyncExitStack() as stack:
        first = await stack.enter_async_context(running_driver(config))
        # The same charger throughout: it keeps its profiles and reconnects to the new gateway.
        sim = await stack.enter_async_context(simulated(first.port, "2.0.1"))
        await first.connected(cid)
        await controller(first, cid, power_w=10_000)
        await first.command(cid, "limit", purpose="charger_max", power_w=30_000)
        assert sim.limit_w(1) == 10_000
        await stack.enter_async_context(_stopped(first))
        async with running_driver(config) as again:
            await again.connected(cid, timeout=10)
            state = latest_state(again, cid)
            assert {lim.source for lim in state.limits} >= {"command", "controller"}
            # Only the explicit profile (level 2) following the share lets the charger rise.
            await controller(again, cid, power_w=15_000)
            assert sim.limit_w(1) == 15_000
            await controller(again, cid, power_w=8_000)
            assert sim.limit_w(1) == 8_000


@contextlib.asynccontextmanager
async def _stopped(site: Site) -> AsyncIterator[None]:
    """The first gateway goes away (its charger keeps running)."""
    await site.driver.stop()
    yield


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.floats(0, 40_000), min_size=1, max_size=4),
    given_as=st.sampled_from(["power_w", "current_a"]),
    purpose=st.sampled_from(["charger_max", "tx_default"]),
    unit=st.sampled_from([None, "W", "A"]),
    cap=st.one_of(st.none(), st.floats(-11_000, 40_000)),
)
def test_a_held_plan_is_never_above_the_cap_and_keeps_what_is_below(
    values: list[float], given_as: str, purpose: str, unit: str | None, cap: float | None
) -> None:
    if given_as == "current_a":
        values = [v / 690 for v in values]
    evse = 0 if purpose == "charger_max" else 1
    plan = schedule_plan(values, given_as, unit, {"purpose": purpose, "evse": evse})
    held = cap_plan(plan, cap, 230.0)
    if cap is None:
        assert held is plan
        return
    floor = 0.0 if purpose == "charger_max" else -1e18
    bound = max(cap, floor)
    assert len(held.periods) == len(plan.periods)
    for before, after in zip(plan.periods, held.periods, strict=True):
        assert after.power_w <= bound + 1e-6 or after.power_w == before.power_w <= bound + 1e-6
        assert after.power_w <= before.power_w + 1e-9
        assert after.offset_s == before.offset_s
        if before.power_w <= bound - 30:  # well below: untouched (a tenth of an ampere is 69 W)
            assert after == before
    assert sent_values(cap_plan(held, cap, 230.0)) == sent_values(held)  # stable
    assert (held.start_s, held.valid_to_s, held.duration_s) == (
        plan.start_s,
        plan.valid_to_s,
        plan.duration_s,
    )
