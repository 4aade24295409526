"""The `ocpp` command: off by default, schema-checked per version, the answer as detail."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gateway.foundation.config import Config
from gateway.foundation.model import CommandStatus
from tests.drivers.ocpp.conftest import Site, running_driver
from tests.drivers.ocpp.peers import charger
from tests.drivers.ocpp.sims import CHARGER, VERSIONS, simulated


async def test_off_by_default(site: Site) -> None:
    async with charger(site.port, "CP-16") as cp:
        await site.connected("CP-16")
        result = await site.command("CP-16", "ocpp", action="ClearCache", payload={})
        assert result.status is CommandStatus.REJECTED and "allow_raw_calls" in str(result.reason)
        assert cp.received == []


@pytest.mark.parametrize("version", VERSIONS)
async def test_any_csms_call_of_the_version(
    config_factory: Callable[..., Config], version: str
) -> None:
    cid = CHARGER[version]
    async with (
        running_driver(config_factory(allow_raw_calls=True)) as site,
        simulated(site.port, version) as sim,
    ):
        key = "HeartbeatInterval" if version == "1.6" else None
        if version == "1.6":
            result = await site.command(
                cid, "ocpp", action="GetConfiguration", payload={"key": [key]}
            )
            assert result.status is CommandStatus.ACCEPTED, result
            assert result.detail["configurationKey"][0]["key"] == key
        else:
            result = await site.command(cid, "ocpp", action="GetLocalListVersion", payload={})
            assert result.status is CommandStatus.ACCEPTED, result
            assert result.detail == {"versionNumber": sim.auth.version}
        wrong = await site.command(cid, "ocpp", action="MeterValues", payload={})
        assert wrong.status is CommandStatus.REJECTED and "sent by chargers" in str(wrong.reason)
        other = "GetVariables" if version == "1.6" else "GetConfiguration"
        unknown = await site.command(cid, "ocpp", action=other, payload={})
        assert unknown.status is CommandStatus.REJECTED and "has no action" in str(unknown.reason)
        bad = await site.command(cid, "ocpp", action="Reset", payload={"type": "Sideways"})
        assert bad.status is CommandStatus.REJECTED and "schema" in str(bad.reason)
        not_impl = await site.command(
            cid,
            "ocpp",
            action="InstallCertificate",
            payload=(
                {"certificateType": "CentralSystemRootCertificate", "certificate": "x"}
                if version == "1.6"
                else {"certificateType": "V2GRootCertificate", "certificate": "x"}
            ),
        )
        assert not_impl.status is CommandStatus.REJECTED
        assert not_impl.detail["error_code"] == "NotImplemented"
