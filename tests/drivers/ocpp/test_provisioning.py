"""`ocpp.chargers[].provision` after every boot, and `boot: pending` until it is done."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.ocpp.provisioning import same_value, text_of
from gateway.foundation.config import Config
from gateway.foundation.model import ChargerState
from tests.drivers.ocpp.conftest import Site, running_driver
from tests.drivers.ocpp.peers import charger
from tests.drivers.ocpp.sims import CHARGER, VERSIONS, simulated

PROVISION = {
    "1.6": {"MeterValueSampleInterval": 10, "HeartbeatInterval": 60, "WebSocketPingInterval": 30, "NoSuchKey": 1},
    "2.0.1": {
        "SampledDataCtrlr/TxUpdatedInterval": 10,
        "OCPPCommCtrlr/HeartbeatInterval": 60,
        "OCPPCommCtrlr/WebSocketPingInterval": 30,
        "NoSuchCtrlr/Nothing": 1,
    },
}  # fmt: skip
PROVISION["2.1"] = PROVISION["2.0.1"]


def config_with(factory: Callable[..., Config], version: str, **charger_cfg: Any) -> Config:
    return factory(
        chargers=[{"id": CHARGER[version], "provision": PROVISION[version], **charger_cfg}],
        heartbeat_interval_s=60,
    )


async def provisioned_state(site: Site, cid: str) -> ChargerState:
    async with asyncio.timeout(20):
        while True:
            states = [s for s in site.of(ChargerState, charger_id=cid) if s.provision]
            if states:
                return states[-1]
            site.changed.clear()
            await site.changed.wait()


@pytest.mark.parametrize("version", VERSIONS)
async def test_provisioning_after_every_boot_writes_only_what_differs(
    config_factory: Callable[..., Config], version: str
) -> None:
    cid = CHARGER[version]
    interval, heartbeat, ping, unknown = PROVISION[version]
    config = config_with(config_factory, version)
    async with (
        running_driver(config) as site,
        simulated(site.port, version, meter_interval_s=60) as sim,
    ):
        state = await provisioned_state(site, cid)
        provision = state.provision
        assert provision is not None
        assert provision[interval]["status"] == "Accepted"
        assert provision[interval]["value"] == "60" and provision[interval]["wanted"] == "10"
        assert provision[heartbeat]["status"] == "unchanged"  # the boot answer set it
        assert provision[ping]["status"] == "RebootRequired"  # reported, not acted on
        assert provision[unknown]["status"] == "UnknownKey"
        assert sim.meter_interval_s == 10
        assert not any(c.action == "Reset" for c in sim.received)
        writes = [c for c in sim.received if c.action in ("ChangeConfiguration", "SetVariables")]
        assert len(writes) == 2  # interval and ping; heartbeat and the unknown key not

        mark = site.mark()
        sim.settings.v16["MeterValueSampleInterval"].value = "60"
        sim.meter_interval_s = 60  # a charger reset to factory values
        await sim.ops.reboot(hard=False)
        await sim.wait_booted(timeout_s=20)
        async with asyncio.timeout(20):
            while sim.meter_interval_s != 10:
                await asyncio.sleep(0.05)
        later = [s for s in site.of(ChargerState, since=mark, charger_id=cid) if s.provision]
        assert later


@pytest.mark.parametrize("version", VERSIONS)
async def test_pending_boot_until_provisioned(
    config_factory: Callable[..., Config], version: str
) -> None:
    cid = CHARGER[version]
    config = config_with(config_factory, version, boot="pending")
    async with running_driver(config) as site, simulated(site.port, version) as sim:
        boots = [c for c in sim.sent if c.action == "BootNotification"]
        assert [b.response["status"] for b in boots if b.response] == ["Pending", "Accepted"]
        assert boots[-1].payload.get("reason", "Triggered") == "Triggered"
        assert sim.meter_interval_s == 10  # provisioned before it was accepted
        first_accepted = sim.sent.index(boots[-1])
        set_calls = [
            i
            for i, c in enumerate(sim.received)
            if c.action in ("ChangeConfiguration", "SetVariables")
        ]
        assert set_calls
        # nothing but BootNotification (and its answers) from the charger before acceptance
        assert all(c.action == "BootNotification" for c in sim.sent[:first_accepted])
        state = await provisioned_state(site, cid)
        assert state.provision is not None


async def test_pending_boot_ends_at_the_retry_when_the_trigger_is_refused(
    config_factory: Callable[..., Config],
) -> None:
    config = config_factory(chargers=[{"id": "CP-201", "provision": {"A/B": 1}, "boot": "pending"}])
    async with running_driver(config) as site, charger(site.port, "CP-201", "2.0.1") as cp:
        cp.answers["GetVariables"] = {
            "getVariableResult": [
                {
                    "attributeStatus": "Accepted",
                    "attributeValue": "1",
                    "component": {"name": "A"},
                    "variable": {"name": "B"},
                }
            ]
        }
        cp.answers["TriggerMessage"] = {"status": "Rejected"}
        first = await cp.boot()
        assert first["status"] == "Pending" and first["interval"] == 30
        await cp.wait_call("TriggerMessage", timeout=10)
        again = await cp.boot()
        assert again["status"] == "Accepted"


async def test_a_read_the_charger_refuses_is_shown_per_key_not_lost(
    config_factory: Callable[..., Config],
) -> None:
    """Any way the read ends badly (here a CALLERROR) is an error from the tree: each key shows
    it in the state, with the charger's answer as the reason."""
    config = config_factory(chargers=[{"id": "CP-201", "provision": {"A/B": 1, "C/D": "x"}}])
    async with running_driver(config) as site, charger(site.port, "CP-201", "2.0.1") as cp:
        cp.errors["GetVariables"] = "NotSupported"
        await cp.boot()
        state = await provisioned_state(site, "CP-201")
        assert state.provision is not None and set(state.provision) == {"A/B", "C/D"}
        for entry in state.provision.values():
            assert entry["status"] == "error"
            assert entry["reason"] == "charger answered GetVariables with NotSupported"


@given(st.one_of(st.booleans(), st.integers(-(10**6), 10**6), st.text(max_size=20)))
def test_a_value_is_the_same_as_its_text(value: bool | int | str) -> None:
    assert same_value(text_of(value), text_of(value))
    if isinstance(value, int) and not isinstance(value, bool):
        assert same_value(f"{value}.0", text_of(value))
