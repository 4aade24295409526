"""`reset` with an EVSE, `trigger` and `availability` with a connector (2.x), refused on 1.6."""

from __future__ import annotations

import pytest

from gateway.foundation.model import CommandStatus
from tests.drivers.ocpp.conftest import Site
from tests.drivers.ocpp.peers import charger


@pytest.mark.parametrize(("version", "cid"), [("2.0.1", "CP-201"), ("2.1", "CP-21")])
async def test_2x_addressing_reaches_the_charger(site: Site, version: str, cid: str) -> None:
    async with charger(site.port, cid, version) as cp:
        await site.connected(cid)
        result = await site.command(cid, "reset", type="hard", evse=2)
        assert result.status is CommandStatus.ACCEPTED, result
        assert await cp.wait_call("Reset") == {"type": "Immediate", "evseId": 2}
        result = await site.command(
            cid, "trigger", message="StatusNotification", evse=1, connector=2
        )
        assert result.status is CommandStatus.ACCEPTED, result
        assert await cp.wait_call("TriggerMessage") == {
            "requestedMessage": "StatusNotification",
            "evse": {"id": 1, "connectorId": 2},
        }
        result = await site.command(cid, "availability", operative=False, evse=1, connector=2)
        assert result.status is CommandStatus.ACCEPTED, result
        assert await cp.wait_call("ChangeAvailability") == {
            "operationalStatus": "Inoperative",
            "evse": {"id": 1, "connectorId": 2},
        }


async def test_16_refuses_what_it_cannot_address(site: Site) -> None:
    async with charger(site.port, "CP-16", "1.6") as cp:
        await site.connected("CP-16")
        result = await site.command("CP-16", "reset", type="soft", evse=1)
        assert result.status is CommandStatus.REJECTED and "whole charger" in str(result.reason)
        for name, args in (
            ("trigger", {"message": "StatusNotification", "evse": 1, "connector": 1}),
            ("availability", {"operative": True, "evse": 1, "connector": 1}),
        ):
            result = await site.command("CP-16", name, **args)
            assert result.status is CommandStatus.REJECTED and "1.6" in str(result.reason)
        result = await site.command("CP-16", "availability", operative=True, connector=1)
        assert result.status is CommandStatus.REJECTED and "connector needs evse" in str(
            result.reason
        )
        assert cp.received == []


async def test_the_simulator_resets_one_evse(site: Site) -> None:
    from gateway.foundation.model import TransactionEvent
    from tests.drivers.ocpp.sims import simulated

    async with simulated(site.port, "2.0.1", evse_count=2) as sim:
        await sim.plug_in(1, id_tag="TAG-1")
        await sim.plug_in(2, id_tag="TAG-1")
        mark = site.mark()
        result = await site.command("CP-201", "reset", type="hard", evse=2)
        assert result.status is CommandStatus.ACCEPTED, result
        ended = await site.wait_for(TransactionEvent, since=mark, event="ended")
        assert ended.evse == 2 and ended.stop_reason == "ImmediateReset"
        assert sim.evses[1].session is not None and sim.evses[2].session is None
