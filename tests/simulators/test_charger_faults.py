"""Every injectable fault and quirk, as the central system sees it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from simulators.charger import NotConnectedError, OcppVersion, StopReason
from tests.simulators.conftest import VERSIONS, CentralSystem, wait_until


async def _booted(
    csms: CentralSystem, sims: Any, version: OcppVersion = OcppVersion.V16, **kw: Any
) -> Any:
    sim = sims(csms.url, version, **kw)
    await sim.start()
    await sim.wait_booted()
    return sim


async def test_disconnect_drops_and_comes_back(csms: CentralSystem, sims: Any) -> None:
    sim = await _booted(csms, sims)
    first = await csms.cp("CP-1")
    await sim.inject.disconnect(offline_s=0.2)
    await csms.wait_for(lambda: "CP-1" not in csms.cps or csms.cps["CP-1"] is not first)
    await csms.wait_for(lambda: len(csms.paths) == 2)
    await sim.wait_booted()
    assert sim.connections == 2


async def test_silence_stops_answers_and_messages(csms: CentralSystem, sims: Any) -> None:
    sim = await _booted(csms, sims)
    cp = await csms.cp("CP-1")
    cp._response_timeout = 0.5
    sim.inject.silence()
    heartbeats = len(csms.calls("Heartbeat"))
    with pytest.raises(asyncio.TimeoutError):
        await cp.call(call16.TriggerMessage(requested_message="Heartbeat"))
    assert sim.received[-1].action == "TriggerMessage"  # it arrived, it was ignored
    assert len(csms.calls("Heartbeat")) == heartbeats
    sim.inject.silence(False)
    await csms.wait_calls("Heartbeat", count=heartbeats + 1)
    response = await cp.call(call16.TriggerMessage(requested_message="Heartbeat"))
    assert response.status == "Accepted"


@pytest.mark.parametrize("version", VERSIONS)
async def test_malformed_frames(csms: CentralSystem, sims: Any, version: OcppVersion) -> None:
    sim = await _booted(csms, sims, version)
    await sim.inject.send_invalid_json()
    await csms.wait_for(lambda: any(f.parsed is None for f in csms.frames))

    await sim.inject.send_wrong_message_type()
    await csms.wait_for(
        lambda: any(isinstance(f.parsed, list) and f.parsed[0] == 7 for f in csms.frames)
    )

    reply = await sim.inject.send_wrong_payload_types()
    assert reply is not None and reply[0] == 4  # the CSMS answered with a CALLERROR
    # the last raw CALL (a heartbeat may have gone out after it on a busy machine)
    sent = next(call for call in reversed(sim.sent) if call.raw)
    assert sent.action == "BootNotification" and sent.error == reply[2]


@pytest.mark.parametrize("version", [OcppVersion.V16, OcppVersion.V201])
async def test_meter_value_types_flipped(
    csms: CentralSystem, sims: Any, version: OcppVersion
) -> None:
    sim = await _booted(csms, sims, version)
    await sim.plug_in(1, id_tag="TAG")
    reply = await sim.inject.send_numeric_meter_values(1)
    frame = next(
        f.parsed
        for f in reversed(csms.frames)
        if isinstance(f.parsed, list) and f.parsed[2:3] == ["MeterValues"]
    )
    value = frame[3]["meterValue"][0]["sampledValue"][0]["value"]
    assert isinstance(value, float) if version is OcppVersion.V16 else isinstance(value, str)
    assert reply is not None and reply[0] == 4  # a strict CSMS refuses it


async def test_transaction_id_zero_from_csms(csms: CentralSystem, sims: Any) -> None:
    csms.behaviour.tx_id = 0
    sim = await _booted(csms, sims)
    await sim.plug_in(1, id_tag="TAG")
    assert sim.transaction_id(1) == "0"
    await csms.wait_calls("MeterValues")
    await sim.stop_transaction(1, StopReason.LOCAL)
    stop = (await csms.wait_calls("StopTransaction"))[0]
    assert stop["transactionId"] == 0
    assert all(m["transactionId"] == 0 for m in csms.calls("MeterValues"))


async def test_sim_told_to_use_transaction_id_zero(csms: CentralSystem, sims: Any) -> None:
    sim = await _booted(csms, sims)
    await sim.plug_in(1, id_tag="TAG")
    assert sim.transaction_id(1) == "1"
    sim.inject.use_tx_id_zero()
    await sim.stop_transaction(1)
    stop = (await csms.wait_calls("StopTransaction"))[0]
    assert stop["transactionId"] == 0


@pytest.mark.parametrize(
    ("style", "check"),
    [
        ("local", lambda ts: not ts.endswith("Z") and "+" not in ts and not ts.startswith("1970")),
        ("unset", lambda ts: ts.startswith("1970-01-01T")),
    ],
)
@pytest.mark.parametrize("version", [OcppVersion.V16, OcppVersion.V201])
async def test_timestamp_quirks(
    csms: CentralSystem, sims: Any, version: OcppVersion, style: str, check: Any
) -> None:
    sim = await _booted(csms, sims, version)
    await sim.flush()
    sim.inject.timestamps(style)
    cp = await csms.cp("CP-1")
    if version is OcppVersion.V16:
        await cp.call(call16.TriggerMessage(requested_message="StatusNotification", connector_id=1))
    else:
        await cp.call(
            call201.TriggerMessage(requested_message="StatusNotification", evse={"id": 1})
        )
    await csms.wait_for(
        lambda: any(check(s["timestamp"]) for s in csms.calls("StatusNotification"))
    )


async def test_faults_need_a_connection(csms: CentralSystem, sims: Any) -> None:
    await csms.stop()
    sim = sims(csms.url)
    await sim.start()
    with pytest.raises(NotConnectedError):
        await sim.inject.send_invalid_json()
    await wait_until(lambda: sim.link is None)
