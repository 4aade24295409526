"""Boot, heartbeat and status against a real central system, for every OCPP version."""

from __future__ import annotations

from typing import Any

import pytest

from simulators.charger import OcppVersion
from tests.simulators.conftest import VERSIONS, CentralSystem


@pytest.mark.parametrize("version", VERSIONS)
async def test_boot_heartbeat_and_status(
    csms: CentralSystem, sims: Any, version: OcppVersion
) -> None:
    sim = sims(csms.url, version, charger_id="CP 1/a", evse_count=2)
    await sim.start()
    await sim.wait_booted()
    await csms.wait_calls("Heartbeat", count=2)

    assert csms.paths[0] == "/ocpp/CP%201%2Fa"
    assert "CP 1/a" in csms.cps
    boot = csms.calls("BootNotification")[0]
    if version is OcppVersion.V16:
        assert boot["chargePointVendor"] == "PileBridge"
        statuses = await csms.wait_calls("StatusNotification", count=3)
        assert sorted(s["connectorId"] for s in statuses) == [0, 1, 2]
        assert {s["status"] for s in statuses} == {"Available"}
    else:
        assert boot["chargingStation"]["vendorName"] == "PileBridge"
        assert boot["reason"] == "PowerUp"
        statuses = await csms.wait_calls("StatusNotification", count=2)
        assert sorted(s["evseId"] for s in statuses) == [1, 2]
        assert {s["connectorStatus"] for s in statuses} == {"Available"}
    assert csms.actions()[0] == "BootNotification"
    assert sim.boot_status == "Accepted"
    assert sim.heartbeat_interval_s == 6


async def test_pending_then_accepted_waits_before_other_messages(
    csms: CentralSystem, sims: Any
) -> None:
    csms.behaviour.boot_status = ["Pending", "Rejected", "Accepted"]
    sim = sims(csms.url)
    await sim.start()
    await sim.wait_booted()
    await csms.wait_calls("StatusNotification")
    actions = csms.actions()
    assert actions[:3] == ["BootNotification"] * 3
    assert "StatusNotification" in actions[3:]


async def test_basic_auth_header(csms: CentralSystem, sims: Any) -> None:
    sim = sims(csms.url, password="s3cret")
    await sim.start()
    await sim.wait_booted()
    import base64

    assert csms.auth_headers[0] == "Basic " + base64.b64encode(b"CP-1:s3cret").decode()
