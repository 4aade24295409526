"""Requests from the central system: remote start/stop, availability, reset, unlock, trigger."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from ocpp.exceptions import NotImplementedError as OcppNotImplemented
from ocpp.exceptions import NotSupportedError as OcppNotSupported
from ocpp.v16 import call as call16
from ocpp.v21 import call as call21
from ocpp.v201 import call as call201

from simulators.charger import OcppVersion
from tests.simulators.conftest import VERSIONS, CentralSystem, wait_until


async def _booted(
    csms: CentralSystem, sims: Any, version: OcppVersion, **kw: Any
) -> tuple[Any, Any]:
    sim = sims(csms.url, version, **kw)
    await sim.start()
    await sim.wait_booted()
    return sim, await csms.cp(sim.config.charger_id)


def _v2(version: OcppVersion) -> Any:
    return call201 if version is OcppVersion.V201 else call21


@pytest.mark.parametrize("version", VERSIONS)
async def test_remote_start_and_stop(csms: CentralSystem, sims: Any, version: OcppVersion) -> None:
    sim, cp = await _booted(csms, sims, version)
    if version is OcppVersion.V16:
        response = await cp.call(call16.RemoteStartTransaction(id_tag="REMOTE1", connector_id=1))
        assert response.status == "Accepted"
        start = (await csms.wait_calls("StartTransaction"))[0]
        assert start["idTag"] == "REMOTE1" and start["connectorId"] == 1
        await wait_until(lambda: sim.transaction_id(1) is not None)
        response = await cp.call(
            call16.RemoteStopTransaction(transaction_id=int(sim.transaction_id(1)))
        )
        assert response.status == "Accepted"
        stop = (await csms.wait_calls("StopTransaction"))[0]
        assert stop["reason"] == "Remote"
        assert not csms.calls("Authorize")  # AuthorizeRemoteTxRequests = false
    else:
        request = _v2(version).RequestStartTransaction(
            id_token={"id_token": "REMOTE1", "type": "Central"}, remote_start_id=42, evse_id=1
        )
        assert (await cp.call(request)).status == "Accepted"
        started = (await csms.wait_calls("TransactionEvent"))[0]
        assert started["eventType"] == "Started" and started["triggerReason"] == "RemoteStart"
        assert started["transactionInfo"]["remoteStartId"] == 42
        assert started["idToken"] == {"idToken": "REMOTE1", "type": "Central"}
        tx = started["transactionInfo"]["transactionId"]
        assert (
            await cp.call(_v2(version).RequestStopTransaction(transaction_id=tx))
        ).status == "Accepted"
        await csms.wait_for(lambda: csms.calls("TransactionEvent")[-1]["eventType"] == "Ended")
        ended = csms.calls("TransactionEvent")[-1]
        assert ended["transactionInfo"]["stoppedReason"] == "Remote"
        assert ended["triggerReason"] == "RemoteStop"
    assert sim.power_w(1) == 0


async def test_remote_stop_unknown_transaction_rejected(csms: CentralSystem, sims: Any) -> None:
    _, cp = await _booted(csms, sims, OcppVersion.V16)
    response = await cp.call(call16.RemoteStopTransaction(transaction_id=999))
    assert response.status == "Rejected"


@pytest.mark.parametrize("version", VERSIONS)
async def test_change_availability(csms: CentralSystem, sims: Any, version: OcppVersion) -> None:
    sim, cp = await _booted(csms, sims, version)
    await csms.wait_calls("StatusNotification", count=2 if version is OcppVersion.V16 else 1)
    if version is OcppVersion.V16:
        request = call16.ChangeAvailability(connector_id=1, type="Inoperative")
    else:
        request = _v2(version).ChangeAvailability(operational_status="Inoperative", evse={"id": 1})
    assert (await cp.call(request)).status == "Accepted"
    key = "status" if version is OcppVersion.V16 else "connectorStatus"
    await csms.wait_for(lambda: csms.calls("StatusNotification")[-1][key] == "Unavailable")
    assert await sim.plug_in(1, id_tag="TAG") is None
    assert sim.power_w(1) == 0


async def test_availability_scheduled_during_session(csms: CentralSystem, sims: Any) -> None:
    sim, cp = await _booted(csms, sims, OcppVersion.V16)
    await sim.plug_in(1, id_tag="TAG")
    response = await cp.call(call16.ChangeAvailability(connector_id=0, type="Inoperative"))
    assert response.status == "Scheduled"
    await sim.unplug(1)
    await csms.wait_for(lambda: csms.calls("StatusNotification")[-1]["status"] == "Unavailable")


@pytest.mark.parametrize(
    ("version", "kind"),
    [(OcppVersion.V16, "Soft"), (OcppVersion.V16, "Hard"), (OcppVersion.V201, "Immediate")],
)
async def test_reset_reconnects_and_boots_again(
    csms: CentralSystem, sims: Any, version: OcppVersion, kind: str
) -> None:
    sim, cp = await _booted(csms, sims, version)
    await sim.plug_in(1, id_tag="TAG")
    request = call16.Reset(type=kind) if version is OcppVersion.V16 else call201.Reset(type=kind)
    assert (await cp.call(request)).status == "Accepted"
    await csms.wait_calls("BootNotification", count=2)
    await sim.wait_booted()
    assert sim.connections == 2
    if version is OcppVersion.V16:
        stop = (await csms.wait_calls("StopTransaction"))[0]
        assert stop["reason"] == f"{kind}Reset"
    else:
        assert csms.calls("BootNotification")[1]["reason"] == "RemoteReset"
        ended = [e for e in csms.calls("TransactionEvent") if e["eventType"] == "Ended"]
        assert ended[0]["transactionInfo"]["stoppedReason"] == "ImmediateReset"


@pytest.mark.parametrize("version", VERSIONS)
async def test_unlock_connector(csms: CentralSystem, sims: Any, version: OcppVersion) -> None:
    sim, cp = await _booted(csms, sims, version)
    await sim.plug_in(1)
    if version is OcppVersion.V16:
        response = await cp.call(call16.UnlockConnector(connector_id=1))
    else:
        response = await cp.call(_v2(version).UnlockConnector(evse_id=1, connector_id=1))
    assert response.status == "Unlocked"
    await wait_until(lambda: not sim.evses[1].plugged)
    if version is not OcppVersion.V16:
        unknown = await cp.call(_v2(version).UnlockConnector(evse_id=5, connector_id=1))
        assert unknown.status == "UnknownConnector"


@pytest.mark.parametrize("version", VERSIONS)
async def test_trigger_message(csms: CentralSystem, sims: Any, version: OcppVersion) -> None:
    _, cp = await _booted(csms, sims, version)
    boots, meters = len(csms.calls("BootNotification")), len(csms.calls("MeterValues"))
    for message in ("Heartbeat", "MeterValues", "BootNotification", "StatusNotification"):
        if version is OcppVersion.V16:
            request = call16.TriggerMessage(requested_message=message, connector_id=1)
        else:
            request = _v2(version).TriggerMessage(requested_message=message, evse={"id": 1})
        assert (await cp.call(request)).status == "Accepted"
    await csms.wait_for(lambda: len(csms.calls("BootNotification")) > boots)
    await csms.wait_for(lambda: len(csms.calls("MeterValues")) > meters)
    if version is not OcppVersion.V16:
        assert csms.calls("BootNotification")[-1]["reason"] == "Triggered"
    if version is not OcppVersion.V16:  # 1.6: every MessageTrigger value is implemented
        refused = _v2(version).TriggerMessage(requested_message="SignChargingStationCertificate")
        assert (await cp.call(refused)).status == "NotImplemented"


@pytest.mark.parametrize("version", VERSIONS)
async def test_unsupported_request_gets_call_error(
    csms: CentralSystem, sims: Any, version: OcppVersion
) -> None:
    sim, cp = await _booted(csms, sims, version)
    if version is OcppVersion.V16:
        request: Any = call16.InstallCertificate(
            certificate_type="CentralSystemRootCertificate", certificate="x"
        )
    else:
        request = _v2(version).InstallCertificate(
            certificate_type="V2GRootCertificate", certificate="x"
        )
    with pytest.raises(OcppNotImplemented):
        await cp.call(request, suppress=False)
    assert sim.received[-1].action == "InstallCertificate"
    # an action no version knows: NotSupported, sent raw past the library's own checks
    await cp._send('[2, "x-1", "MakeCoffee", {}]')
    await csms.wait_for(
        lambda: any(f.parsed and f.parsed[0] == 4 and f.parsed[1] == "x-1" for f in csms.frames)
    )
    error = next(f.parsed for f in csms.frames if f.parsed and f.parsed[1] == "x-1")
    assert error[2] == OcppNotSupported.code


async def test_v16_configuration(csms: CentralSystem, sims: Any) -> None:
    sim, cp = await _booted(csms, sims, OcppVersion.V16)
    response = await cp.call(call16.ChangeConfiguration(key="MeterValueSampleInterval", value="12"))
    assert response.status == "Accepted"
    assert sim.meter_interval_s == 12
    response = await cp.call(call16.GetConfiguration(key=["MeterValueSampleInterval", "Nope"]))
    assert response.configuration_key[0]["value"] == "12"
    assert response.unknown_key == ["Nope"]
    response = await cp.call(call16.ChangeConfiguration(key="NumberOfConnectors", value="4"))
    assert response.status == "Rejected"
    await asyncio.sleep(0)


async def test_v2_reset_on_idle_waits_for_the_session(csms: CentralSystem, sims: Any) -> None:
    sim, cp = await _booted(csms, sims, OcppVersion.V201)
    await sim.plug_in(1, id_tag="TAG")
    assert (await cp.call(call201.Reset(type="OnIdle"))).status == "Scheduled"
    await sim.stop_transaction(1)
    await csms.wait_calls("BootNotification", count=2)
    assert csms.calls("BootNotification")[1]["reason"] == "RemoteReset"


async def test_v2_variables(csms: CentralSystem, sims: Any) -> None:
    sim, cp = await _booted(csms, sims, OcppVersion.V201)
    interval = {
        "component": {"name": "SampledDataCtrlr"},
        "variable": {"name": "TxUpdatedInterval"},
    }
    unknown = {"component": {"name": "Nope"}, "variable": {"name": "Nothing"}}
    response = await cp.call(
        call201.SetVariables(set_variable_data=[{**interval, "attribute_value": "30"}])
    )
    assert response.set_variable_result[0]["attribute_status"] == "Accepted"
    assert sim.meter_interval_s == 30
    response = await cp.call(call201.GetVariables(get_variable_data=[interval, unknown]))
    results = response.get_variable_result
    assert results[0]["attribute_value"] == "30"
    assert results[1]["attribute_status"] == "UnknownComponent"
