"""The TxProfile inside a `start` never lifts the control centre's cap on its EVSE: it is held to
the limit in force there when sent (`held_to` in the result) and sent again, bound to its
transaction, when that limit changes. The whole gateway over a real Mosquitto, the bundled
simulator as the charger (it obeys profiles as OCPP stacks them: TxProfile over TxDefault)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from gateway.demo.broker import PrivateMosquitto
from gateway.foundation.config import Config
from simulators.charger import ChargerSim
from simulators.charger.profiles import Purpose
from tests.conftest import running_gateway
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
