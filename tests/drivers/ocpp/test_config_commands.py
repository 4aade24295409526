"""get_config / set_config / report against the simulator and `ocpp`-package charge points."""

from __future__ import annotations

import pytest

from gateway.foundation.model import ChargerConfigReport, CommandStatus
from tests.drivers.ocpp.conftest import Site
from tests.drivers.ocpp.peers import charger
from tests.drivers.ocpp.sims import CHARGER, VERSIONS, simulated

KEYS = {
    "1.6": ("MeterValueSampleInterval", "HeartbeatInterval", "NumberOfConnectors"),
    "2.0.1": (
        "SampledDataCtrlr/TxUpdatedInterval",
        "OCPPCommCtrlr/HeartbeatInterval",
        "SecurityCtrlr/SecurityProfile",
    ),
}
KEYS["2.1"] = KEYS["2.0.1"]


@pytest.mark.parametrize("version", VERSIONS)
async def test_set_then_get_changes_the_simulated_charger(site: Site, version: str) -> None:
    interval, heartbeat, readonly = KEYS[version]
    async with simulated(site.port, version) as sim:
        cid = CHARGER[version]
        result = await site.command(cid, "set_config", key=interval, value=10)
        assert result.status is CommandStatus.ACCEPTED, result
        assert result.detail["charger_status"] == "Accepted"
        assert sim.meter_interval_s == 10
        result = await site.command(cid, "get_config", keys=[interval, heartbeat])
        assert result.status is CommandStatus.ACCEPTED, result
        values = {v["key"]: v["value"] for v in result.detail["values"]}
        assert values == {interval: "10", heartbeat: f"{sim.heartbeat_interval_s:g}"}

        refused = await site.command(cid, "set_config", key=readonly, value="3")
        assert refused.status is CommandStatus.REJECTED
        assert refused.detail["charger_status"] == "Rejected"
        bad = await site.command(cid, "set_config", key=interval, value="ten")
        assert bad.status is CommandStatus.REJECTED and bad.detail["charger_status"] == "Rejected"
        unknown_key = "NoSuchKey" if version == "1.6" else "NoSuchCtrlr/NoSuchVariable"
        unknown = await site.command(cid, "get_config", keys=[interval, unknown_key])
        assert unknown.status is CommandStatus.REJECTED
        assert unknown.detail["unknown"] == [unknown_key]
        assert unknown.detail["values"][0]["value"] == "10"
        assert unknown_key in str(unknown.reason)
        not_supported = await site.command(cid, "set_config", key=unknown_key, value="1")
        assert not_supported.status is CommandStatus.REJECTED
        expected = "NotSupported" if version == "1.6" else "UnknownComponent"
        assert not_supported.detail["charger_status"] == expected


@pytest.mark.parametrize("version", VERSIONS)
async def test_reboot_required_is_accepted_and_says_so(site: Site, version: str) -> None:
    key = "WebSocketPingInterval" if version == "1.6" else "OCPPCommCtrlr/WebSocketPingInterval"
    async with simulated(site.port, version):
        result = await site.command(CHARGER[version], "set_config", key=key, value="30")
        assert result.status is CommandStatus.ACCEPTED
        assert result.detail["charger_status"] == "RebootRequired"
        assert result.detail["reboot_required"] is True


@pytest.mark.parametrize("version", VERSIONS)
async def test_report_is_published_retained_with_the_time_read(site: Site, version: str) -> None:
    async with simulated(site.port, version) as sim:
        cid = CHARGER[version]
        await site.command(cid, "set_config", key=KEYS[version][0], value="15")
        mark = site.mark()
        result = await site.command(cid, "report")
        assert result.status is CommandStatus.ACCEPTED, result
        report = await site.wait_for(ChargerConfigReport, since=mark)
        entries = {e["key"]: e for e in report.entries if e.get("evse") is None}
        assert entries[KEYS[version][0]]["value"] == "15"
        assert entries[KEYS[version][2]]["readonly"] is True
        assert result.detail["entries"] == len(report.entries)
        if version == "1.6":
            assert report.source == "GetConfiguration"
            assert len(report.entries) == len(sim.settings.v16)
        else:
            # the simulator sends 8 items per NotifyReport: several parts, assembled
            assert report.source == "GetBaseReport"
            assert len(report.entries) == len(sim.settings.v2) > 8
            evse_entries = [e for e in report.entries if e.get("evse") == 1]
            assert {e["key"] for e in evse_entries} == {"EVSE/Available", "Connector/ConnectorType"}


async def test_addressing_with_a_library_charger(site: Site) -> None:
    async with charger(site.port, "CP-201", "2.0.1") as cp:
        await site.connected("CP-201")
        cp.answers["GetVariables"] = {
            "getVariableResult": [
                {
                    "attributeStatus": "Accepted",
                    "attributeValue": "22",
                    "attributeType": "MaxSet",
                    "component": {"name": "EVSE", "evse": {"id": 2, "connectorId": 1}},
                    "variable": {"name": "Power", "instance": "AC"},
                }
            ]
        }
        result = await site.command(
            "CP-201",
            "get_config",
            keys=["EVSE/Power"],
            evse=2,
            connector=1,
            instance="AC",
            attribute="MaxSet",
        )
        assert result.status is CommandStatus.ACCEPTED, result
        sent = await cp.wait_call("GetVariables")
        assert sent == {
            "getVariableData": [
                {
                    "component": {"name": "EVSE", "evse": {"id": 2, "connectorId": 1}},
                    "variable": {"name": "Power", "instance": "AC"},
                    "attributeType": "MaxSet",
                }
            ]
        }
        assert result.detail["values"] == [
            {
                "key": "EVSE/Power",
                "evse": 2,
                "connector": 1,
                "instance": "AC",
                "attribute": "MaxSet",
                "value": "22",
            }
        ]


async def test_v16_refuses_2x_addressing_and_bad_keys(site: Site) -> None:
    async with charger(site.port, "CP-16", "1.6") as cp:
        await site.connected("CP-16")
        result = await site.command("CP-16", "set_config", key="X", value="1", evse=1)
        assert result.status is CommandStatus.REJECTED and "1.6" in str(result.reason)
        result = await site.command("CP-16", "get_config", keys=["K" * 60])
        assert result.status is CommandStatus.REJECTED and "schema" in str(result.reason)
        cp.errors["GetConfiguration"] = "NotSupported"
        result = await site.command("CP-16", "get_config", keys=["HeartbeatInterval"])
        assert result.status is CommandStatus.REJECTED
        assert result.detail["error_code"] == "NotSupported"
        assert cp.received == [("GetConfiguration", {"key": ["HeartbeatInterval"]})]
    async with charger(site.port, "CP-201", "2.0.1") as cp:
        await site.connected("CP-201")
        result = await site.command("CP-201", "get_config", keys=["HeartbeatInterval"])
        assert result.status is CommandStatus.REJECTED and "Component/Variable" in str(
            result.reason
        )
        cp.answers["GetBaseReport"] = {"status": "NotSupported"}
        result = await site.command("CP-201", "report")
        assert result.status is CommandStatus.REJECTED
        assert result.detail["charger_status"] == "NotSupported"
