"""The control centre's cap and the site controller's share on one charger: the lowest holds,
lifting one never lifts the other, and both are kept across a restart."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.ocpp.core.caps import SourceLimit, in_force, profile_ttl_s
from gateway.foundation.config import Config
from gateway.foundation.model import (
    ChargerState,
    CommandRequest,
    CommandResult,
    CommandSource,
    CommandStatus,
)
from tests.drivers.ocpp.conftest import Site, running_driver
from tests.drivers.ocpp.peers import charger


async def controller(site: Site, charger_id: str, **payload: Any) -> CommandResult:
    request, args, rejection = site.router.parse(
        "charger", charger_id, "limit", json.dumps(payload).encode()
    )
    assert rejection is None and request is not None
    request = dataclasses.replace(request, source=CommandSource.CONTROLLER)
    assert isinstance(request, CommandRequest)
    return await site.router.dispatch(request, args)


def limit_of(got: dict[str, Any]) -> float:
    return float(
        got["chargingProfile"]["chargingSchedule"][0]["chargingSchedulePeriod"][0]["limit"]
    )


def sources(state: ChargerState) -> dict[str, float | None]:
    return {lim.source: lim.power_w for lim in state.limits if lim.evse == 0}


async def test_the_lowest_holds_and_lifting_one_leaves_the_other(site: Site) -> None:
    async with charger(site.port, "CP-201", "2.0.1") as cp:
        await site.connected("CP-201")
        cap = await site.command("CP-201", "limit", power_w=7000)
        assert cap.status is CommandStatus.ACCEPTED
        assert limit_of(await cp.wait_call("SetChargingProfile")) == 7000
        share = await controller(site, "CP-201", power_w=10000)
        assert share.detail["in_force"] == {"power_w": 7000, "source": "command"}
        state = site.of(ChargerState, charger_id="CP-201")[-1]
        assert sources(state) == {"command": 7000, "controller": 10000, "rating": 22000}
        assert state.limit_in_force[0].source == "command"
        lower = await controller(site, "CP-201", power_w=5000)
        assert lower.detail["in_force"] == {"power_w": 5000, "source": "controller"}
        assert limit_of(await cp.wait_call("SetChargingProfile")) == 5000
        # The control centre lifts its cap: the controller's share stays in force.
        lifted = await site.command("CP-201", "limit", power_w=None)
        assert lifted.detail["in_force"] == {"power_w": 5000, "source": "controller"}
        state = site.of(ChargerState, charger_id="CP-201")[-1]
        assert sources(state) == {"controller": 5000, "rating": 22000}
        assert not [c for c, _ in cp.received if c == "ClearChargingProfile"]
        # The controller lifts its share: the operator's cap (none now) is all that matters.
        await controller(site, "CP-201", power_w=None)
        assert await cp.wait_call("ClearChargingProfile") == {"chargingProfileId": 4200}
        assert site.of(ChargerState, charger_id="CP-201")[-1].limits == ()


async def test_the_controller_lifting_its_share_keeps_the_operator_cap(site: Site) -> None:
    async with charger(site.port, "CP-16") as cp:
        await site.connected("CP-16")
        await site.command("CP-16", "limit", power_w=4000)
        await controller(site, "CP-16", power_w=3000)
        await controller(site, "CP-16", power_w=None)
        calls = [payload for name, payload in cp.received if name == "SetChargingProfile"]
        assert len(calls) == 3  # 4000, then 3000, then back to the operator's 4000
        state = site.of(ChargerState, charger_id="CP-16")[-1]
        assert sources(state) == {"command": 4000, "rating": 22000}
        assert state.limit_in_force[0].power_w == 4000


async def test_shares_and_caps_survive_a_restart(config_factory: Callable[..., Config]) -> None:
    config = config_factory()
    async with running_driver(config) as site, charger(site.port, "CP-201", "2.0.1"):
        await site.connected("CP-201")
        await site.command("CP-201", "limit", power_w=9000)
        await controller(site, "CP-201", power_w=6000)
    async with running_driver(config) as site:
        state = site.of(ChargerState, charger_id="CP-201")[-1]
        assert sources(state) == {"command": 9000, "controller": 6000, "rating": 22000}
        assert state.limit_in_force[0].source == "controller"


limit_st = st.builds(
    SourceLimit,
    st.just("c"),
    st.just(0),
    st.one_of(st.none(), st.floats(-22000, 50000)),
    st.floats(0, 100),
    st.one_of(st.none(), st.floats(0, 1e10)),
    st.sampled_from(["command", "controller"]),
)


@settings(max_examples=200, deadline=None)
@given(limits=st.lists(limit_st, max_size=4), rating=st.floats(1000, 50000))
def test_the_limit_in_force_is_never_above_any_source_nor_the_rating(
    limits: list[SourceLimit], rating: float
) -> None:
    lowest = in_force(limits, rating, 690.0)
    if not limits:
        assert lowest is None
        return
    assert lowest is not None
    assert lowest.watts(690.0) <= rating
    assert all(lowest.watts(690.0) <= lim.watts(690.0) for lim in limits)
    ttl = profile_ttl_s(limits, 0.0)
    assert ttl is None or ttl >= 0
