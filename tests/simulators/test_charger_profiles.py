"""The simulator obeys charging profiles sent by a real central system."""

from __future__ import annotations

from typing import Any

import pytest
from ocpp.v16 import call as call16
from ocpp.v21 import call as call21
from ocpp.v201 import call as call201

from simulators.charger import EvSpec, OcppVersion
from tests.simulators.conftest import VERSIONS, CentralSystem, wait_until

EV = EvSpec(capacity_kwh=80, initial_soc_pct=30, max_charge_w=22_000)


def _power(samples: list[dict[str, Any]]) -> float:
    return next(float(s["value"]) for s in samples if s["measurand"].startswith("Power.Active"))


def _profile_v16(
    limit: float, unit: str = "W", purpose: str = "TxDefaultProfile", pid: int = 1
) -> dict[str, Any]:
    return {
        "chargingProfileId": pid,
        "stackLevel": 0,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": "Absolute",
        "chargingSchedule": {
            "chargingRateUnit": unit,
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}],
        },
    }


def _profile_v2(
    period: dict[str, Any], purpose: str = "TxDefaultProfile", **extra: Any
) -> dict[str, Any]:
    return {
        "id": 7,
        "stackLevel": 0,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": "Absolute",
        "chargingSchedule": [
            {
                "id": 1,
                "chargingRateUnit": "W",
                "chargingSchedulePeriod": [{"startPeriod": 0, **period}],
            }
        ],
        **extra,
    }


def _set(version: OcppVersion, limit: float) -> Any:
    if version is OcppVersion.V16:
        return call16.SetChargingProfile(connector_id=1, cs_charging_profiles=_profile_v16(limit))
    module = call201 if version is OcppVersion.V201 else call21
    return module.SetChargingProfile(evse_id=1, charging_profile=_profile_v2({"limit": limit}))


def _clear(version: OcppVersion) -> Any:
    if version is OcppVersion.V16:
        return call16.ClearChargingProfile(id=1)
    module = call201 if version is OcppVersion.V201 else call21
    return module.ClearChargingProfile(charging_profile_id=7)


def _meter_powers(csms: CentralSystem, version: OcppVersion) -> list[float]:
    if version is OcppVersion.V16:
        return [_power(m["meterValue"][0]["sampledValue"]) for m in csms.calls("MeterValues")]
    return [
        _power(e["meterValue"][0]["sampledValue"])
        for e in csms.calls("TransactionEvent")
        if e["triggerReason"] == "MeterValuePeriodic"
    ]


@pytest.mark.parametrize("version", VERSIONS)
async def test_limit_then_clear(csms: CentralSystem, sims: Any, version: OcppVersion) -> None:
    sim = sims(csms.url, version)
    await sim.start()
    await sim.wait_booted()
    await sim.plug_in(1, ev=EV, id_tag="TAG")
    assert sim.power_w(1) == pytest.approx(22_000)
    cp = await csms.cp("CP-1")

    response = await cp.call(_set(version, 7_000))
    assert response.status == "Accepted"
    received = await sim.recorder.wait_received("SetChargingProfile")
    assert received.payload.get("evseId", received.payload.get("connectorId")) == 1
    seen = len(_meter_powers(csms, version))
    await csms.wait_for(lambda: len(_meter_powers(csms, version)) > seen)
    assert _meter_powers(csms, version)[seen] <= 7_000
    assert sim.power_w(1) <= 7_000
    assert sim.limit_w(1) == pytest.approx(7_000)

    response = await cp.call(_clear(version))
    assert response.status == "Accepted"
    seen = len(_meter_powers(csms, version))
    await csms.wait_for(lambda: len(_meter_powers(csms, version)) > seen)
    assert _meter_powers(csms, version)[seen] == pytest.approx(22_000)
    assert sim.limit_w(1) is None


async def test_v16_current_limit_uses_phases(csms: CentralSystem, sims: Any) -> None:
    sim = sims(csms.url, phases=3)
    await sim.start()
    await sim.wait_booted()
    await sim.plug_in(1, ev=EV, id_tag="TAG")
    cp = await csms.cp("CP-1")
    profile = _profile_v16(10, unit="A", purpose="TxProfile", pid=3)
    profile["transactionId"] = int(sim.transaction_id(1))
    response = await cp.call(
        call16.SetChargingProfile(connector_id=1, cs_charging_profiles=profile)
    )
    assert response.status == "Accepted"
    assert sim.power_w(1) == pytest.approx(10 * 3 * 230)


async def test_v16_tx_profile_needs_a_transaction(csms: CentralSystem, sims: Any) -> None:
    sim = sims(csms.url)
    await sim.start()
    await sim.wait_booted()
    cp = await csms.cp("CP-1")
    profile = _profile_v16(5_000, purpose="TxProfile")
    response = await cp.call(
        call16.SetChargingProfile(connector_id=1, cs_charging_profiles=profile)
    )
    assert response.status == "Rejected"


async def test_v16_station_max_shared_between_evses(csms: CentralSystem, sims: Any) -> None:
    sim = sims(csms.url, evse_count=2)
    await sim.start()
    await sim.wait_booted()
    await sim.plug_in(1, ev=EV, id_tag="A")
    await sim.plug_in(2, ev=EV, id_tag="B")
    cp = await csms.cp("CP-1")
    profile = _profile_v16(10_000, purpose="ChargePointMaxProfile", pid=9)
    response = await cp.call(
        call16.SetChargingProfile(connector_id=0, cs_charging_profiles=profile)
    )
    assert response.status == "Accepted"
    assert sim.power_w(1) + sim.power_w(2) == pytest.approx(10_000)
    assert sim.limit_w(1) == pytest.approx(10_000)


async def test_below_six_amps_pauses(csms: CentralSystem, sims: Any) -> None:
    sim = sims(csms.url, OcppVersion.V201)
    await sim.start()
    await sim.wait_booted()
    await sim.plug_in(1, ev=EV, id_tag="TAG")
    cp = await csms.cp("CP-1")
    await cp.call(
        call201.SetChargingProfile(evse_id=1, charging_profile=_profile_v2({"limit": 2_000}))
    )
    assert sim.power_w(1) == 0
    await csms.wait_for(
        lambda: any(
            e["transactionInfo"].get("chargingState") == "SuspendedEVSE"
            for e in csms.calls("TransactionEvent")
            if e["triggerReason"] == "ChargingStateChanged"
        )
    )


@pytest.mark.parametrize(
    "period",
    [
        {"setpoint": -5_000.0, "operationMode": "CentralSetpoint"},
        {"limit": -5_000.0},
    ],
    ids=["setpoint", "negative-limit"],
)
async def test_v21_discharge_when_bidirectional(
    csms: CentralSystem, sims: Any, period: dict[str, Any]
) -> None:
    sim = sims(csms.url, OcppVersion.V21, bidirectional=True, max_power_w=11_000)
    await sim.start()
    await sim.wait_booted()
    await sim.plug_in(1, ev=EvSpec(capacity_kwh=2, initial_soc_pct=60), id_tag="TAG")
    cp = await csms.cp("CP-1")
    profile = _profile_v2(period, purpose="TxProfile", transactionId=sim.transaction_id(1))
    response = await cp.call(call21.SetChargingProfile(evse_id=1, charging_profile=profile))
    assert response.status == "Accepted"
    assert sim.power_w(1) == pytest.approx(-5_000)
    soc_before = sim.soc_pct(1)
    await wait_until(lambda: sim.soc_pct(1) < soc_before - 1)
    await csms.wait_for(
        lambda: any(
            s["measurand"] == "Power.Active.Export"
            for e in csms.calls("TransactionEvent")
            for s in e.get("meterValue", [{}])[0].get("sampledValue", [])
        )
    )
    assert sim.evses[1].energy_export_wh > 0


async def test_v21_unidirectional_never_discharges(csms: CentralSystem, sims: Any) -> None:
    sim = sims(csms.url, OcppVersion.V21, bidirectional=False)
    await sim.start()
    await sim.wait_booted()
    await sim.plug_in(1, ev=EV, id_tag="TAG")
    cp = await csms.cp("CP-1")
    profile = _profile_v2({"setpoint": -5_000.0, "operationMode": "CentralSetpoint"})
    await cp.call(call21.SetChargingProfile(evse_id=1, charging_profile=profile))
    assert sim.power_w(1) == 0
