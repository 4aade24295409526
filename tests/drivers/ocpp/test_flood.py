"""One charger cannot flood the gateway (issue finding 5, OCPP part): a message and byte
budget per charger (CALLERROR beyond it, logged once per interval, the connection stays and
recovers), and logs never carry whole payloads."""

from __future__ import annotations

import json
from collections.abc import Callable

from structlog.testing import capture_logs

from drivers.ocpp.flood import FloodBudget
from gateway.foundation.config import Config
from tests.drivers.ocpp.conftest import running_driver
from tests.drivers.ocpp.hostile import raw_charger


def test_budget_refills_at_its_rate_and_logs_once_per_interval() -> None:
    budget = FloodBudget(messages_per_s=2, bytes_per_s=1000, burst_s=5, now=0.0)
    assert all(budget.admit(10, 0.0) for _ in range(10))  # the burst: 2/s x 5 s
    assert not budget.admit(10, 0.0)
    assert budget.admit(10, 0.5)  # one message refilled
    first = budget.overrun_to_log(0.5)
    assert first is not None and first.messages == 1
    assert not budget.admit(10, 0.5)
    assert budget.overrun_to_log(30.0) is None  # once per interval
    later = budget.overrun_to_log(61.0)
    assert later is not None and later.messages == 1
    big = FloodBudget(messages_per_s=100, bytes_per_s=1000, burst_s=1, now=0.0)
    assert big.admit(50_000, 0.0)  # one message larger than the bucket passes when it is full
    assert not big.admit(10, 0.0)  # ... and the bytes are owed before the next one


async def test_a_flooding_charger_gets_callerrors_and_recovers(
    config_factory: Callable[..., Config],
) -> None:
    limits = {"messages_per_s": 5, "bytes_per_s": 1e9, "burst_s": 2}
    async with (
        running_driver(config_factory(rate_limit=limits)) as site,
        raw_charger(site.port, "CP-16") as cp,
        raw_charger(site.port, "CP-201", "2.0.1") as calm,
    ):
        with capture_logs() as logs:
            replies = [await cp.call("Heartbeat", {}) for _ in range(40)]
        refused = [r for r in replies if r[0] == 4]
        assert refused and all(r[2] == "GenericError" for r in refused)
        assert all(r[1] != "-1" for r in refused)  # answered under the CALL's own id
        assert len([e for e in logs if e["event"] == "charger_rate_limited"]) == 1
        await calm.still_serving()  # another charger is not limited by this one
        while (await cp.call("Heartbeat", {}))[0] != 3:  # the budget refills
            pass


async def test_logs_never_carry_whole_payloads(config_factory: Callable[..., Config]) -> None:
    marker = "Z" * 100_000
    async with (
        running_driver(config_factory()) as site,
        raw_charger(site.port, "CP-16") as cp,
        raw_charger(site.port, "CP-21", "2.1") as cp2,
    ):
        with capture_logs() as logs:
            await cp.call("DataTransfer", {"vendorId": "V", "data": marker})
            await cp.call("BootNotification", {"chargePointVendor": marker})  # too long
            await cp.exchange(f'[2,"x","Heartbeat",{{"a":"{marker}"')  # not JSON
            await cp2.call("NotifyEvent", {"junk": marker})
            await cp2.call("DataTransfer", {"vendorId": "V", "data": [marker] * 3})
    assert logs
    for entry in logs:
        assert len(json.dumps(entry, default=str)) < 2000, entry["event"]
