"""The TxProfile inside a `start` never lifts the control centre's cap on its EVSE: it is held to
the limit in force there when sent (`held_to` in the result) and sent again, bound to its
transaction, when that limit changes. The whole gateway over a real Mosquitto, the bundled
simulator as the charger (it obeys profiles as OCPP stacks them: TxProfile over TxDefault)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.ocpp.core.profile_cap import cap_plan
from drivers.ocpp.core.profile_plan import (
    charging_profile,
    set_profile_payload,
)
from gateway.demo.broker import PrivateMosquitto
from gateway.foundation.config import Config
from gateway.foundation.model.versions import OcppVersion
from simulators.charger import ChargerSim
from simulators.charger.profiles import Purpose
from tests.conftest import running_gateway
from tests.drivers.ocpp.schedule_plans import schedule_plan
from tests.drivers.ocpp.sims import CHARGER, simulated
from tests.drivers.ocpp.test_e2e import command, ocpp_port, wait_mqtt

OCPP = {
    "enabled": True,
    "host": "127.0.0.1",
    "port": 0,
    "chargers": [{"id": CHARGER["1.6"]}, {"id": CHARGER["2.0.1"]}],
    "authorize": {"tags": ["TAG-1"]},
}


async def until(check: Callable[[], bool], timeout_s: float = 10.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not check():
            await asyncio.sleep(0.05)


def tx_profile_w(sim: ChargerSim) -> float | None:
    """The first period of the TxProfile the charger holds on EVSE 1 (W), or None."""
    for profile in sim.profiles.profiles:
        if profile.purpose is Purpose.TX and profile.evse == 1:
            return profile.schedule.periods[0].limit
    return None


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_a_start_profile_is_held_to_the_evse_cap(
    mosquitto: PrivateMosquitto, make_config: Callable[..., Config], version: str
) -> None:
    cid = CHARGER[version]
    config = make_config(mosquitto, ocpp=OCPP)
    async with running_gateway(config) as gateway:
        await wait_mqtt(gateway)
        async with simulated(ocpp_port(gateway), version) as sim:
            cap = await command(mosquitto, gateway, cid, "limit", {"evse": 1, "power_w": 7000})
            assert cap["status"] == "accepted", cap
            start = await command(
                mosquitto,
                gateway,
                cid,
                "start",
                {"id_tag": "TAG-1", "evse": 1, "limit": {"power_w": 22_000}},
            )
            assert start["status"] == "accepted", start
            # The transaction runs with the TxProfile, which outranks the cap's TxDefault.
            await until(lambda: tx_profile_w(sim) is not None)
            assert sim.limit_w(1) == 7000
            assert tx_profile_w(sim) == 7000
            assert start["detail"]["held_to"] == {"power_w": 7000, "source": "command"}
            assert start["detail"]["limit"]["applied_power_w"] == 7000
            # The cap is lifted: the start's own value holds again (up to the rating).
            lifted = await command(mosquitto, gateway, cid, "limit", {"evse": 1, "power_w": None})
            assert lifted["status"] == "accepted", lifted
            await until(lambda: sim.limit_w(1) == 22_000)
            # A new, lower cap holds it again.
            await command(mosquitto, gateway, cid, "limit", {"evse": 1, "power_w": 5000})
            await until(lambda: sim.limit_w(1) == 5000)
            assert tx_profile_w(sim) == 5000


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.floats(0, 40_000), min_size=1, max_size=4),
    given_as=st.sampled_from(["power_w", "current_a"]),
    unit=st.sampled_from([None, "W", "A"]),
    version=st.sampled_from([OcppVersion.V16, OcppVersion.V201]),
    cap=st.floats(0, 40_000),
)
def test_a_held_start_profile_and_its_resend_stay_under_the_cap(
    values: list[float], given_as: str, unit: str | None, version: OcppVersion, cap: float
) -> None:
    """What the start carries, and what is sent again bound to the transaction, never exceeds
    the cap in the profile's own unit, and keeps the start's timing."""
    if given_as == "current_a":
        values = [v / 690 for v in values]
    tx = {"purpose": "tx", "kind": "relative", "evse": 1}
    plan = schedule_plan(values, given_as, unit, tx, version=version, remote_start=True)
    held = cap_plan(plan, cap, 230.0)
    in_start = charging_profile(held, version)
    bound = dataclasses.replace(held, transaction_id="42")
    resent = set_profile_payload(bound, version)
    again = resent["csChargingProfiles" if version == OcppVersion.V16 else "chargingProfile"]
    assert "transactionId" not in in_start and str(again["transactionId"]) == "42"
    cap_sent = cap if plan.unit == "W" else cap / 690
    for profile in (in_start, again):
        schedule = profile["chargingSchedule"]
        schedule = schedule if version == OcppVersion.V16 else schedule[0]
        periods = schedule["chargingSchedulePeriod"]
        assert profile["chargingProfilePurpose"] == "TxProfile"
        assert profile["chargingProfileKind"] == "Relative"
        assert [p["startPeriod"] for p in periods] == [p.offset_s for p in plan.periods]
        for period, asked in zip(periods, plan.periods, strict=True):
            assert period["limit"] <= cap_sent + 1e-9
            assert period["limit"] <= asked.sent
