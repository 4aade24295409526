"""Smart charging end to end: the gateway's `limit`, `start` and `get_schedule` against the
bundled charge-point simulator (1.6J, 2.0.1, 2.1) over real websockets.

The simulator obeys stacked profiles as a charger does, so these tests check what the EV
really draws, and what the charger itself reports as its composite schedule.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.foundation.model import ChargerEvent, ChargerState, CommandResult, CommandStatus
from simulators.charger import ChargerConfig, ChargerSim, EvSpec, OcppVersion
from tests.drivers.ocpp.conftest import Site

CHARGER = {"1.6": "CP-16", "2.0.1": "CP-201", "2.1": "CP-21"}
VERSIONS = list(CHARGER)
EV = EvSpec(capacity_kwh=80, initial_soc_pct=30, max_charge_w=22_000, max_discharge_w=11_000)


@asynccontextmanager
async def simulated(site: Site, version: str, **config: Any) -> AsyncIterator[ChargerSim]:
    cid = CHARGER[version]
    settings: dict[str, Any] = {
        "meter_interval_s": 0.2,
        "backoff_initial_s": 0.2,
        "bidirectional": version == "2.1",
        **config,
    }
    sim = ChargerSim(
        ChargerConfig(
            cid,
            url=f"ws://127.0.0.1:{site.port}/ocpp",
            ocpp_version=OcppVersion(version),
            **settings,
        ),
        ev=EV,
    )
    await sim.start()
    try:
        await sim.wait_booted()
        await site.connected(cid)
        yield sim
    finally:
        await sim.stop()


async def wait_until(predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not predicate():
            await asyncio.sleep(0.02)


def ok(result: CommandResult) -> CommandResult:
    assert result.status is CommandStatus.ACCEPTED, result
    return result


def limits(site: Site, cid: str) -> dict[tuple[int, str | None], Any]:
    state = site.of(ChargerState, charger_id=cid)[-1]
    return {(lim.evse, lim.purpose): lim for lim in state.limits}


@pytest.mark.parametrize("version", VERSIONS)
async def test_stacked_purposes_decide_what_the_ev_draws(site: Site, version: str) -> None:
    cid = CHARGER[version]
    async with simulated(site, version) as sim:
        await sim.plug_in(1, id_tag="TAG-1")
        await wait_until(lambda: sim.power_w(1) == pytest.approx(22_000))
        await wait_until(lambda: bool(site.driver.hub.store.open_on(cid, 1)))

        ok(await site.command(cid, "limit", evse=1, purpose="tx_default", current_a=16))
        assert sim.power_w(1) == pytest.approx(16 * 690)
        ok(await site.command(cid, "limit", purpose="charger_max", power_w=7_000))
        assert sim.power_w(1) == pytest.approx(7_000)  # the station maximum caps everything
        tx = ok(await site.command(cid, "limit", evse=1, purpose="tx", current_a=6))
        assert tx.detail["transaction_id"] == site.driver.hub.store.open_on(cid, 1).transaction_id
        assert sim.power_w(1) == pytest.approx(6 * 690)  # TxProfile overrides TxDefault
        held = limits(site, cid)
        assert set(held) == {(0, "charger_max"), (1, "tx_default"), (1, "tx")}
        assert held[(1, "tx")].kind == "absolute" and held[(1, "tx")].current_a == 6
        assert held[(0, "charger_max")].valid_from is not None

        # a higher stack level wins within a purpose (a second TxDefault, by criteria later)
        ok(await site.command(cid, "limit", evse=1, purpose="tx", current_a=10, stack_level=5))
        assert sim.power_w(1) == pytest.approx(10 * 690)
        assert limits(site, cid)[(1, "tx")].stack_level == 5

        # clear by criteria: the TxProfile goes, the TxDefault applies again
        cleared = ok(await site.command(cid, "limit", power_w=None, purpose="tx", evse=1))
        assert cleared.detail["cleared"] == 1
        assert sim.power_w(1) == pytest.approx(7_000)
        assert (1, "tx") not in limits(site, cid)
        ok(await site.command(cid, "limit", power_w=None, purpose="charger_max"))
        assert sim.power_w(1) == pytest.approx(16 * 690)
        assert set(limits(site, cid)) == {(1, "tx_default")}


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_tx_limit_without_a_transaction_is_refused_by_the_charger(
    site: Site, version: str
) -> None:
    cid = CHARGER[version]
    async with simulated(site, version) as sim:
        result = await site.command(cid, "limit", evse=1, purpose="tx", power_w=4_000)
        assert result.status is CommandStatus.REJECTED
        assert result.detail["charger_status"] == "Rejected"
        received = await sim.recorder.wait_received("SetChargingProfile")
        profile = received.payload.get("csChargingProfiles") or received.payload["chargingProfile"]
        assert "transactionId" not in profile and profile["chargingProfilePurpose"] == "TxProfile"
        assert site.of(ChargerState, charger_id=cid) == [] or not limits(site, cid)


@pytest.mark.parametrize("version", VERSIONS)
async def test_the_ev_follows_a_schedule(site: Site, version: str) -> None:
    cid = CHARGER[version]
    # Meter values only every 10 minutes: the charger follows the schedule's periods anyway.
    async with simulated(site, version, meter_interval_s=600) as sim:
        await sim.plug_in(1, id_tag="TAG-1")
        result = ok(
            await site.command(
                cid,
                "limit",
                evse=1,
                schedule=[{"offset_s": 0, "current_a": 8}, {"offset_s": 2, "current_a": 16}],
            )
        )
        assert result.detail["rate_unit"] == "A" and result.detail["converted"] is False
        await wait_until(lambda: sim.power_w(1) == pytest.approx(8 * 690))
        await wait_until(lambda: sim.power_w(1) == pytest.approx(16 * 690), timeout_s=15)
        entry = limits(site, cid)[(1, "tx_default")]
        assert [p.current_a for p in entry.schedule or ()] == [8, 16]
        assert entry.power_w is None and entry.start is not None


@pytest.mark.parametrize("version", VERSIONS)
async def test_composite_schedule_in_watts_and_amps(site: Site, version: str) -> None:
    cid = CHARGER[version]
    async with simulated(site, version) as sim:
        await sim.plug_in(1, id_tag="TAG-1")
        ok(
            await site.command(
                cid,
                "limit",
                evse=1,
                schedule=[{"offset_s": 0, "power_w": 11_000}, {"offset_s": 600, "power_w": 4_140}],
            )
        )
        ok(await site.command(cid, "limit", power_w=9_000))
        result = ok(await site.command(cid, "get_schedule", evse=1, duration_s=1200, unit="A"))
        detail = result.detail
        assert detail["charger_unit"] == "A" and detail["converted"] == "power_w"
        periods = detail["periods"]
        assert [round(p["current_a"], 1) for p in periods] == [13.0, 6.0]  # min(9 kW cap, 11 kW)
        assert periods[0]["power_w"] == pytest.approx(13.0 * 690)
        assert 590 <= periods[1]["offset_s"] <= 600
        watts = ok(await site.command(cid, "get_schedule", evse=1, duration_s=1200))
        assert watts.detail["periods"][0]["power_w"] == 9_000
        assert watts.detail["converted"] == "current_a"
        whole = ok(await site.command(cid, "get_schedule", evse=0, duration_s=60, unit="W"))
        assert whole.detail["periods"][0]["power_w"] == 9_000


@pytest.mark.parametrize("version", VERSIONS)
async def test_recurring_relative_and_validity_as_the_charger_applies_them(
    site: Site, version: str
) -> None:
    cid = CHARGER[version]
    async with simulated(site, version) as sim:
        await sim.plug_in(1, id_tag="TAG-1")
        now = datetime.now(UTC).replace(microsecond=0)
        # daily: 3 kW from one hour ago for two hours, then nothing (the rating)
        ok(
            await site.command(
                cid,
                "limit",
                evse=1,
                kind="recurring",
                recurrency="daily",
                start=(now - timedelta(hours=1)).isoformat(),
                schedule=[
                    {"offset_s": 0, "power_w": 5_000},
                    {"offset_s": 7_200, "power_w": 22_000},
                ],
            )
        )
        await wait_until(lambda: sim.power_w(1) == pytest.approx(5_000))
        periods = ok(
            await site.command(cid, "get_schedule", evse=1, duration_s=86_400, unit="W")
        ).detail["periods"]
        assert [p["power_w"] for p in periods] == [5_000, 22_000, 5_000]
        assert 3_590 <= periods[1]["offset_s"] <= 3_600
        assert 82_790 <= periods[2]["offset_s"] <= 82_800  # the next day's recurrence

        # relative TxProfile from the transaction's start; valid only from ten minutes on
        ok(
            await site.command(
                cid,
                "limit",
                evse=1,
                purpose="tx",
                kind="relative",
                valid_from=(now + timedelta(minutes=10)).isoformat(),
                schedule=[{"offset_s": 0, "current_a": 10}, {"offset_s": 3_600, "current_a": 6}],
            )
        )
        assert sim.power_w(1) == pytest.approx(5_000)  # not valid yet: the TxDefault holds
        periods = ok(
            await site.command(cid, "get_schedule", evse=1, duration_s=7_200, unit="A")
        ).detail["periods"]
        assert [p["current_a"] for p in periods] == [pytest.approx(5_000 / 690, abs=0.1), 10, 6]
        assert 590 <= periods[1]["offset_s"] <= 600
        assert 3_500 <= periods[2]["offset_s"] <= 3_600
        assert limits(site, cid)[(1, "tx")].kind == "relative"


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("evse", [1, None])
async def test_start_with_a_limit_and_the_tx_limit_ends_with_the_transaction(
    site: Site, version: str, evse: int | None
) -> None:
    cid = CHARGER[version]
    async with simulated(site, version) as sim:
        await sim.plug_in(1)
        args: dict[str, Any] = {"id_tag": "TAG-1", "limit": {"current_a": 10}}
        if evse is not None:
            args["evse"] = evse
        result = ok(await site.command(cid, "start", **args))
        assert result.detail["limit"]["purpose"] == "tx"
        await wait_until(lambda: sim.transaction_id(1) is not None)
        await wait_until(lambda: sim.power_w(1) == pytest.approx(10 * 690))
        received = await sim.recorder.wait_received(
            "RemoteStartTransaction" if version == "1.6" else "RequestStartTransaction"
        )
        assert received.payload["chargingProfile"]["chargingProfilePurpose"] == "TxProfile"
        tx_id = sim.transaction_id(1)

        def bound() -> bool:
            held = limits(site, cid).get((1, "tx"))
            return held is not None and held.transaction_id == tx_id

        await wait_until(bound)  # shown on the EVSE the charger chose, with its transaction
        assert limits(site, cid)[(1, "tx")].current_a == 10
        await sim.stop_transaction(1)
        await site.wait_for(ChargerState, charger_id=cid, limits=())


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_ttl_lapses_for_every_purpose(site: Site, version: str) -> None:
    cid = CHARGER[version]
    async with simulated(site, version) as sim:
        await sim.plug_in(1, id_tag="TAG-1")
        await wait_until(lambda: bool(site.driver.hub.store.open_on(cid, 1)))
        ok(await site.command(cid, "limit", evse=1, purpose="tx", power_w=5_000, ttl_s=0.5))
        assert sim.power_w(1) == pytest.approx(5_000)
        assert limits(site, cid)[(1, "tx")].expires_at is not None
        await site.wait_for(ChargerState, charger_id=cid, reason="lease_expired")
        await wait_until(lambda: sim.power_w(1) == pytest.approx(22_000))


async def test_v2g_discharge_schedule_on_21(site: Site) -> None:
    async with simulated(site, "2.1") as sim:
        await sim.plug_in(1, id_tag="TAG-1")
        ok(
            await site.command(
                "CP-21",
                "limit",
                evse=1,
                schedule=[
                    {
                        "offset_s": 0,
                        "power_w": 0,
                        "operation_mode": "CentralSetpoint",
                        "setpoint": -4_000,
                    },
                    {"offset_s": 3_600, "power_w": 11_000, "operation_mode": "ChargingOnly"},
                ],
            )
        )
        await wait_until(lambda: sim.power_w(1) == pytest.approx(-4_000))
        periods = ok(await site.command("CP-21", "get_schedule", evse=1, duration_s=7_200)).detail[
            "periods"
        ]
        assert periods[0]["setpoint_w"] == -4_000


@pytest.mark.parametrize("version", ["2.0.1", "2.1"])
async def test_the_evs_needs_reach_state_and_a_tx_limit_answers_them(
    site: Site, version: str
) -> None:
    cid = CHARGER[version]
    async with simulated(site, version) as sim:
        await sim.plug_in(1, id_tag="TAG-1")
        await wait_until(lambda: bool(site.driver.hub.store.open_on(cid, 1)))
        status = await sim.report_ev_needs(
            1, energy_wh=20_000, departure_in_s=4 * 3600, max_discharge_w=7_000
        )
        assert status == "Accepted"
        event = await site.wait_for(ChargerEvent, charger_id=cid, event="ev_charging_needs")
        assert event.data["energy_wh"] == 20_000
        needs = site.of(ChargerState, charger_id=cid)[-1].ev_needs[1]
        assert needs.departure_time is not None
        assert needs.max_discharge_power_w == (7_000 if version == "2.1" else None)
        # 20 kWh in 4 h: 5 kW is enough; the control centre answers with a TxProfile
        ok(await site.command(cid, "limit", evse=1, purpose="tx", power_w=5_000))
        await wait_until(lambda: sim.power_w(1) == pytest.approx(5_000))
