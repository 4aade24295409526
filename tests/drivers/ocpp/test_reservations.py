"""reserve / cancel_reservation against the simulator and library charge points."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from gateway.foundation.model import ChargerEvent, ChargerState, CommandStatus, TransactionEvent
from tests.drivers.ocpp.conftest import Site
from tests.drivers.ocpp.peers import charger
from tests.drivers.ocpp.sims import CHARGER, VERSIONS, simulated


def later(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def reservations(site: Site, cid: str) -> tuple[dict[str, object], ...]:
    states = site.of(ChargerState, charger_id=cid)
    return tuple(dict(r) for r in states[-1].reservations) if states else ()


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_reservation_is_used_by_its_tag(site: Site, version: str) -> None:
    cid = CHARGER[version]
    async with simulated(site.port, version, evse_count=2) as sim:
        result = await site.command(cid, "reserve", id_tag="TAG-1", evse=1, expires_at=later(600))
        assert result.status is CommandStatus.ACCEPTED, result
        reservation_id = result.detail["reservation_id"]
        assert reservations(site, cid)[0]["evse"] == 1
        await asyncio.wait_for(_status(site, cid, 1, "Reserved"), 10)
        assert await sim.start_transaction(1, "OTHER") is None  # held for TAG-1
        occupied = await site.command(cid, "reserve", id_tag="X", evse=1, expires_at=later(600))
        assert occupied.status is CommandStatus.REJECTED
        assert occupied.detail["charger_status"] == "Occupied"
        mark = site.mark()
        assert await sim.start_transaction(1, "TAG-1") is not None
        await site.wait_for(TransactionEvent, since=mark, event="started")
        event = await site.wait_for(ChargerEvent, since=mark, event="reservation_status")
        assert event.data == {"reservation_id": reservation_id, "status": "Used", "evse": 1}
        assert reservations(site, cid) == ()


@pytest.mark.parametrize("version", VERSIONS)
async def test_cancel_and_expiry(site: Site, version: str) -> None:
    cid = CHARGER[version]
    async with simulated(site.port, version) as sim:
        result = await site.command(cid, "reserve", id_tag="TAG-1", expires_at=later(600))
        assert result.status is CommandStatus.ACCEPTED, result
        first = result.detail["reservation_id"]
        result = await site.command(cid, "cancel_reservation", reservation_id=first)
        assert result.status is CommandStatus.ACCEPTED and sim.reservations.active == {}
        assert reservations(site, cid) == ()
        again = await site.command(cid, "cancel_reservation", reservation_id=first)
        assert (
            again.status is CommandStatus.REJECTED and again.detail["charger_status"] == "Rejected"
        )

        mark = site.mark()
        result = await site.command(cid, "reserve", id_tag="TAG-1", evse=1, expires_at=later(1.5))
        assert result.status is CommandStatus.ACCEPTED
        event = await site.wait_for(
            ChargerEvent, since=mark, timeout=15, event="reservation_status"
        )
        assert event.data["status"] == "Expired"
        assert reservations(site, cid) == ()
        async with asyncio.timeout(10):
            while sim.reservations.active:
                await asyncio.sleep(0.05)


async def test_reservation_status_update_and_bad_input(site: Site) -> None:
    async with charger(site.port, "CP-201", "2.0.1") as cp:
        await site.connected("CP-201")
        past = await site.command(
            "CP-201", "reserve", id_tag="T", expires_at="2001-01-01T00:00:00Z"
        )
        assert past.status is CommandStatus.REJECTED and "past" in str(past.reason)
        result = await site.command("CP-201", "reserve", id_tag="T", evse=2, expires_at=later(600))
        assert result.status is CommandStatus.ACCEPTED
        sent = await cp.wait_call("ReserveNow")
        assert sent["evseId"] == 2 and sent["idToken"] == {"idToken": "T", "type": "ISO14443"}
        mark = site.mark()
        await cp.raw(
            "ReservationStatusUpdate",
            {"reservationId": sent["id"], "reservationUpdateStatus": "Removed"},
        )
        event = await site.wait_for(ChargerEvent, since=mark, event="reservation_status")
        assert event.data["status"] == "Removed"
        cp.errors["ReserveNow"] = "NotSupported"
        result = await site.command("CP-201", "reserve", id_tag="T", expires_at=later(600))
        assert (
            result.status is CommandStatus.REJECTED
            and result.detail["error_code"] == "NotSupported"
        )


async def _status(site: Site, cid: str, evse: int, status: str) -> None:
    while True:
        states = site.of(ChargerState, charger_id=cid)
        if states and states[-1].evses.get(evse) and states[-1].evses[evse].status == status:
            return
        site.changed.clear()
        await site.changed.wait()
