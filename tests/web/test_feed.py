"""The live feed and the panel's forms, without sockets: records in, page items out."""

from __future__ import annotations

from gateway.foundation.clock import FakeClock
from gateway.foundation.commands.schemas import COMMAND_SCHEMAS
from gateway.foundation.model import (
    ChargerState,
    ChargerTelemetry,
    DeviceKind,
    StorageTelemetry,
    TransactionEvent,
)
from gateway.topics import Topics
from gateway.web.feed import LiveFeed
from gateway.web.panel import panel_forms


def feed() -> LiveFeed:
    return LiveFeed(Topics("pb", "s1"), FakeClock())


def test_values_are_coalesced_per_topic_and_evse_for_a_slow_page() -> None:
    live = feed()
    page = live.subscribe()
    for watts in range(1000):
        live.on_record(ChargerTelemetry("CP-1", 1, power_w=float(watts)))
        live.on_record(ChargerTelemetry("CP-1", 2, power_w=-float(watts)))
    items = page.take()
    assert [(i.key, i.body["power_w"]) for i in items] == [
        ("charger/CP-1/telemetry#1", 999.0),
        ("charger/CP-1/telemetry#2", -999.0),
    ]
    assert page.take() == [] and not page.wake.is_set()


def test_events_are_kept_in_order_and_bounded() -> None:
    live = feed()
    page = live.subscribe()
    for n in range(500):
        live.on_record(TransactionEvent("CP/1", "started", f"tx-{n}", 1))
    items = page.take()
    assert len(items) == 200  # the oldest went first
    assert items[-1].body["transaction_id"] == "tx-499"
    assert items[-1].id == "CP/1"  # ids with '/' come back decoded from the topic
    snapshot = live.snapshot()
    assert len(snapshot["history"]) == 100
    # The latest session of each EVSE is a value too, for pages that open later.
    assert [v["body"]["transaction_id"] for v in snapshot["values"]] == ["tx-499"]


def test_a_new_page_starts_from_the_latest_values_and_an_old_page_is_forgotten() -> None:
    live = feed()
    live.on_record(ChargerState("CP-1", connected=True, ocpp_version="2.0.1"))
    live.on_record(StorageTelemetry("bess-1", soc_pct=55.0))
    live.on_record(StorageTelemetry("bess-1", soc_pct=56.0))
    values = {v["leaf"] + v["id"]: v["body"] for v in live.snapshot()["values"]}
    assert values["stateCP-1"]["ocpp_version"] == "2.0.1"
    assert values["telemetrybess-1"]["soc_pct"] == 56.0
    page = live.subscribe()
    live.unsubscribe(page)
    live.on_record(StorageTelemetry("bess-1", soc_pct=57.0))
    assert page.take() == [] and live.subscribers == 0


def test_the_panel_offers_what_the_router_handles_with_types_from_the_schemas() -> None:
    forms = panel_forms({(DeviceKind.CHARGER, "limit"), (DeviceKind.STORAGE, "mode")})
    assert set(forms) == {"charger", "storage"}
    assert list(forms["charger"]) == ["limit"]
    power = forms["charger"]["limit"][0]
    assert power["name"] == "power_w" and power["type"] == "number" and not power["required"]
    assert power["label"] == "power (W)"
    assert forms["storage"]["mode"][0]["choices"] == ["idle", "manual", "auto"]
    every = panel_forms(set(COMMAND_SCHEMAS))
    assert {"limit", "trigger", "reset", "unlock", "availability"} <= set(every["charger"])
    assert {"setpoint", "mode"} <= set(every["storage"])
    assert every["charger"]["reset"][0]["choices"] == ["soft", "hard"]


async def test_the_router_tells_its_listeners_each_outcome_even_if_one_listener_fails() -> None:
    from gateway.foundation.commands.router import CommandRouter
    from gateway.foundation.model import CommandResult, CommandStatus

    async def reset(request: object, args: object) -> CommandResult:
        return CommandResult.accepted()

    router = CommandRouter()
    router.register(DeviceKind.CHARGER, "reset", reset)
    router.add_device(DeviceKind.CHARGER, "CP-1")
    seen: list[tuple[str, CommandStatus]] = []
    router.on_result(lambda request, result: 1 / 0)  # type: ignore[arg-type,return-value]
    router.on_result(lambda request, result: seen.append((request.source, result.status)))
    request, args, rejection = router.parse("charger", "CP-1", "reset", b'{"type": "soft"}')
    assert rejection is None and request is not None
    assert (await router.dispatch(request, args)).status is CommandStatus.ACCEPTED
    assert seen == [("command", CommandStatus.ACCEPTED)]
