"""The site controller's shell with real router, recorder and outbox; drivers are stand-ins
that record the commands they get (the closed loop with real devices is in tests/e2e)."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Callable
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gateway.site.controller as controller_module
from gateway.foundation.clock import FakeClock
from gateway.foundation.commands.router import CommandRouter
from gateway.foundation.config import ChargerConfig, Config
from gateway.foundation.leases import LeaseTable
from gateway.foundation.model import (
    ChargerId,
    ChargerLimit,
    ChargerState,
    ChargerTelemetry,
    CommandRequest,
    CommandResult,
    CommandSource,
    DeviceId,
    DeviceKind,
    MeterTelemetry,
    PhaseValues,
    SiteEvent,
    SiteTelemetry,
    StorageState,
    StorageTelemetry,
)
from gateway.outbox import Outbox
from gateway.recorder import OutboxRecorder
from gateway.site import SiteController
from gateway.site.readings import drawing_phases
from gateway.site.schedule import window_at
from gateway.topics import Topics


class Site:
    def __init__(self, config: Config, outbox: Outbox) -> None:
        self.config = config
        self.clock = FakeClock()
        self.leases = LeaseTable(self.clock)
        self.router = CommandRouter(leases=self.leases)
        self.recorder = OutboxRecorder(outbox, Topics("p", "s"))
        self.sent: list[tuple[CommandRequest, Any]] = []
        self.records: list[Any] = []
        self.recorder.subscribe(self.records.append)
        for target, name in ((DeviceKind.CHARGER, "limit"), (DeviceKind.STORAGE, "setpoint")):
            self.router.register(target, name, self._handler)
        self.controller = SiteController(config, self.recorder, self.router, self.clock)

    async def _handler(self, request: CommandRequest, args: Any) -> CommandResult:
        self.sent.append((request, args))
        return CommandResult.accepted()

    def feed(
        self,
        grid_w: float,
        a_w: float,
        b_w: float,
        *,
        mode: str = "auto",
        soc: float = 60,
        battery_w: float = 0,
    ) -> None:
        self.recorder.record(MeterTelemetry(DeviceId("grid-1"), power_w=grid_w))
        for cid in ("CP-A", "CP-B"):
            self.recorder.record(ChargerState(ChargerId(cid), True))
        self.recorder.record(ChargerTelemetry(ChargerId("CP-A"), 1, power_w=a_w))
        self.recorder.record(ChargerTelemetry(ChargerId("CP-B"), 1, power_w=b_w))
        self.recorder.record(StorageState(DeviceId("bess-1"), True, mode=mode))  # type: ignore[arg-type]
        self.recorder.record(StorageTelemetry(DeviceId("bess-1"), power_w=battery_w, soc_pct=soc))

    def events(self) -> list[SiteEvent]:
        return [r for r in self.records if isinstance(r, SiteEvent)]

    def commands(self) -> list[tuple[str, str, dict[str, Any]]]:
        return [(r.device_id, r.name, dict(r.payload)) for r, _ in self.sent]


@pytest.fixture
async def site(make_config: Callable[..., Config], tmp_path: Path) -> AsyncIterator[Site]:
    config = make_config(
        None,
        site={"id": "s", "grid_import_limit_w": 100_000, "controller_margin_w": 1000},
        ocpp={
            "chargers": [{"id": "CP-A", "max_power_w": 22000}, {"id": "CP-B", "max_power_w": 22000}]
        },
        modbus={
            "devices": [
                {
                    "id": "bess-1",
                    "kind": "storage",
                    "host": "127.0.0.1",
                    "max_charge_w": 30000,
                    "max_discharge_w": 30000,
                },
                {"id": "grid-1", "kind": "meter", "host": "127.0.0.1"},
            ]
        },
    )
    outbox = Outbox(tmp_path / "o.sqlite", synchronous="normal")
    await outbox.open()
    yield Site(config, outbox)
    await outbox.close()


async def test_peak_goes_to_the_battery_then_to_the_chargers(site: Site) -> None:
    site.feed(grid_w=140_000, a_w=22000, b_w=22000)
    await site.controller.tick()
    assert site.commands()[0] == ("bess-1", "setpoint", {"power_w": -30000, "ttl_s": 30.0})
    assert site.commands()[1:] == [
        ("CP-A", "limit", {"power_w": 16500}),  # 41 kW over: 30 kW from the battery, 11 kW
        ("CP-B", "limit", {"power_w": 16500}),  # shared by the two chargers
    ]
    assert all(r.source is CommandSource.CONTROLLER for r, _ in site.sent)


async def test_site_telemetry_reports_totals_and_the_limit(site: Site) -> None:
    site.feed(grid_w=50_000, a_w=7000, b_w=4000, mode="manual")
    await site.controller.tick()
    twin = site.recorder.twins.get(DeviceKind.SITE, "site")
    assert twin is not None
    record = twin.telemetry[0]
    assert isinstance(record, SiteTelemetry)
    assert (record.chargers_power_w, record.grid_power_w, record.import_limit_w) == (
        11000,
        50_000,
        100_000,
    )
    assert record.limit_source == "config"
    assert site.sent == []  # a manual-mode battery is not the controller's to move


async def test_battery_setpoint_is_renewed_while_it_holds(site: Site) -> None:
    site.feed(grid_w=110_000, a_w=22000, b_w=22000)
    await site.controller.tick()
    site.sent.clear()
    site.feed(grid_w=99_000, a_w=22000, b_w=22000, battery_w=-11000)  # the battery delivers
    await site.controller.tick()
    assert site.commands() == [("bess-1", "setpoint", {"power_w": -11000, "ttl_s": 30.0})]


async def test_a_stale_grid_reading_applies_the_failsafe_and_says_so(site: Site) -> None:
    site.feed(grid_w=140_000, a_w=22000, b_w=22000)
    await site.controller.tick()
    site.sent.clear()
    await site.clock.advance(3 * 1.0 + 0.1)  # three meter polls without a reading
    decided = await site.controller.tick()
    assert decided.failsafe
    assert site.commands() == [
        ("bess-1", "setpoint", {"power_w": 0.0, "ttl_s": 30.0}),
        ("CP-A", "limit", {"power_w": 4140}),  # each charger at 6 A on three phases
        ("CP-B", "limit", {"power_w": 4140}),
    ]
    assert [e.event for e in site.events()] == ["grid_meter_lost"]
    site.sent.clear()
    assert (await site.controller.tick()).empty  # held, not resent
    site.feed(grid_w=50_000, a_w=4140, b_w=4140)
    await site.clock.advance(30)  # past the rate limit on raises
    site.feed(grid_w=50_000, a_w=4140, b_w=4140)
    back = await site.controller.tick()
    assert not back.failsafe
    assert back.charger_limits_w == {"CP-A": None, "CP-B": None}
    assert [e.event for e in site.events()] == ["grid_meter_lost", "grid_meter_back"]


async def test_grid_limit_command_holds_for_its_ttl_then_config_returns(site: Site) -> None:
    request, args, rejection = site.router.parse(
        "site", "s", "grid_limit", b'{"import_w": 50000, "ttl_s": 60}'
    )
    assert rejection is None and request is not None
    result = await site.router.dispatch(request, args)
    assert result.status.value == "accepted"
    assert site.controller.limits.import_w == 50_000
    site.feed(grid_w=60_000, a_w=11000, b_w=11000, soc=5)
    await site.controller.tick()
    assert ("CP-A", "limit", {"power_w": 5500}) in site.commands()
    await site.clock.advance(61)
    site.leases.check()
    await site.leases.settle()
    assert site.controller.limits.import_w == 100_000
    assert site.controller.limits.limit_source == "config"


async def _command(site: Site, name: str, body: bytes) -> CommandResult:
    request, args, rejection = site.router.parse("site", "s", name, body)
    assert rejection is None and request is not None, rejection
    return await site.router.dispatch(request, args)


def _telemetry(site: Site) -> SiteTelemetry:
    twin = site.recorder.twins.get(DeviceKind.SITE, "site")
    assert twin is not None
    record = twin.telemetry[0]
    assert isinstance(record, SiteTelemetry)
    return record


async def test_power_target_is_tracked_and_reverts_when_mqtt_is_lost(site: Site) -> None:
    result = await _command(site, "power_target", b'{"import_w": -10000, "ttl_s": 600}')
    assert result.status.value == "accepted"
    site.feed(grid_w=20_000, a_w=0, b_w=0)
    await site.controller.tick()
    assert ("bess-1", "setpoint", {"power_w": -30000, "ttl_s": 30.0}) in site.commands()
    telemetry = _telemetry(site)
    assert (telemetry.target_w, telemetry.target_source) == (-10_000, "power_target")
    assert telemetry.storage_setpoints_w == {"bess-1": -30000}
    site.leases.mqtt_connection_changed(False)
    await site.leases.settle()
    assert site.controller.limits.target_w is None
    assert [e.event for e in site.events()] == ["power_target_set", "power_target_ended"]
    assert site.events()[-1].data["reason"] == "mqtt_lost"


async def test_a_target_above_the_limit_is_held_to_the_limit(site: Site) -> None:
    result = await _command(site, "power_target", b'{"import_w": 500000, "ttl_s": 60}')
    assert result.detail["held_to_w"] == 100_000
    site.feed(grid_w=20_000, a_w=0, b_w=0)
    decided = await site.controller.tick()
    assert decided.target_w == 99_000


async def test_schedule_is_followed_offline_and_survives_a_restart(
    site: Site, make_config: Callable[..., Config], tmp_path: Path
) -> None:
    now = site.clock.time()
    start = _iso(now - 3600)
    end = _iso(now + 3600)
    body = f'{{"windows": [{{"start": "{start}", "end": "{end}", "import_limit_w": 40000}}]}}'
    result = await _command(site, "schedule", body.encode())
    assert result.status.value == "accepted" and result.detail["in_force"] is True
    assert site.controller.limits.import_w == 40_000
    assert site.controller.limits.limit_source == "schedule"
    site.leases.mqtt_connection_changed(False)  # the broker goes away: the schedule holds
    await site.leases.settle()
    assert site.controller.limits.import_w == 40_000
    router = CommandRouter(leases=site.leases)
    again = SiteController(site.config, site.recorder, router, site.clock)
    assert again.limits.import_w == 40_000  # read back from state_dir
    await site.clock.advance(3601)
    assert again.limits.import_w == 100_000  # the window ended


async def test_a_damaged_schedule_file_is_set_aside(site: Site) -> None:
    path = site.config.state_dir / "site_schedule.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b'[{"start": "\xff')
    router = CommandRouter(leases=site.leases)
    again = SiteController(site.config, site.recorder, router, site.clock)
    assert again.dispatch.windows == []
    assert path.with_suffix(".damaged").exists()


async def test_chargers_admitted_as_unknown_are_controlled(site: Site) -> None:
    site.recorder.record(ChargerState(ChargerId("STRANGER"), True))
    site.recorder.record(ChargerTelemetry(ChargerId("STRANGER"), 1, power_w=22000))
    site.feed(grid_w=150_000, a_w=22000, b_w=22000, soc=5)
    await site.controller.tick()
    assert "STRANGER" in {device for device, name, _ in site.commands() if name == "limit"}
    assert "STRANGER" in (_telemetry(site).charger_shares_w or {})


def _iso(epoch_s: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch_s, UTC).isoformat()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
site_bodies = st.one_of(
    json_values,
    st.fixed_dictionaries({"import_w": json_values, "ttl_s": json_values}),
    st.fixed_dictionaries({"windows": st.lists(st.dictionaries(
        st.sampled_from(["start", "end", "repeat", "import_limit_w", "import_w", "x"]),
        json_values | st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
    ), max_size=4)}),
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(["power_target", "schedule", "grid_limit"]), body=site_bodies)
def test_any_site_command_payload_gets_args_or_a_clear_rejection(name: str, body: Any) -> None:
    router = CommandRouter()

    async def handler(request: CommandRequest, args: Any) -> CommandResult:
        return CommandResult.accepted()

    router.register(DeviceKind.SITE, name, handler)
    raw = json.dumps(body, allow_nan=True).encode()
    _, args, rejection = router.parse("site", "s", name, raw)
    assert (args is None) != (rejection is None)
    if rejection is not None:
        assert rejection.reason
    elif name == "schedule":
        assert (
            window_at(args.windows, 1.7e9) is None or window_at(args.windows, 1.7e9) in args.windows
        )


async def test_an_offline_charger_is_left_alone_until_it_is_back(site: Site) -> None:
    site.feed(grid_w=150_000, a_w=22000, b_w=22000, soc=5)
    site.recorder.record(ChargerState(ChargerId("CP-B"), False))
    await site.controller.tick()
    assert {device for device, name, _ in site.commands() if name == "limit"} == {"CP-A"}


def test_a_single_phase_ev_on_a_three_phase_charger_loads_one_grid_phase() -> None:
    cfg = ChargerConfig(id="CP", grid_phases=["L2", "L3", "L1"])
    one_phase = {"L1": PhaseValues(current_a=32.0), "L2": PhaseValues(current_a=0.2)}
    sample = ChargerTelemetry(ChargerId("CP"), 1, power_w=7360, phases=one_phase)
    assert drawing_phases(cfg, [sample]) == ("L2",)  # its L1 is wired to the grid's L2
    assert drawing_phases(cfg, []) == ("L2", "L3", "L1")  # no phase readings: as wired


async def test_shares_are_published_only_while_the_controller_limits_someone(
    make_config: Callable[..., Config], tmp_path: Path
) -> None:
    """With no limit and no target, `charger_shares_w` is left out (at thousands of chargers
    it was a map of nulls, one per charger, in every tick's record); a share the controller
    still holds (read back from a charger's state after a restart) is shown."""
    config = make_config(None, site={"id": "s"}, ocpp={"allow_unknown_chargers": True})
    outbox = Outbox(tmp_path / "o.sqlite", synchronous="normal")
    await outbox.open()
    try:
        site = Site(config, outbox)
        for n in range(50):
            site.recorder.record(ChargerState(ChargerId(f"CP-{n}"), True))
            site.recorder.record(ChargerTelemetry(ChargerId(f"CP-{n}"), 1, power_w=7000))
        await site.controller.tick()
        assert _telemetry(site).chargers_power_w == 350_000
        assert _telemetry(site).charger_shares_w is None
        held = ChargerLimit(0, power_w=4000, source="controller")
        site.recorder.record(ChargerState(ChargerId("CP-7"), True, limits=(held,)))
        site.recorder.record(ChargerState(ChargerId("CP-50"), True, limits=(held,)))
        await site.controller.tick()
        shares = _telemetry(site).charger_shares_w
        assert shares is not None and len(shares) == 51
        assert {k: v for k, v in shares.items() if v is not None} == {"CP-50": 4000}
    finally:
        await outbox.close()


async def test_a_large_site_is_planned_beside_the_event_loop(
    make_config: Callable[..., Config], tmp_path: Path
) -> None:
    """From a couple of hundred chargers the plan runs in the controller's own thread, and
    decides what it decides in the loop."""
    config = make_config(
        None,
        site={"id": "s", "grid_import_limit_w": 1_000_000, "controller_margin_w": 0},
        ocpp={"allow_unknown_chargers": True},
        modbus={"devices": [{"id": "grid-1", "kind": "meter", "host": "127.0.0.1"}]},
    )
    outbox = Outbox(tmp_path / "o.sqlite", synchronous="normal")
    await outbox.open()
    try:
        site = Site(config, outbox)
        threads: list[str] = []
        planned = controller_module.plan

        def plan_here(inputs: Any) -> Any:
            threads.append(threading.current_thread().name)
            return planned(inputs)

        controller_module.plan = plan_here  # type: ignore[assignment]
        try:
            for count in (10, 300):
                for n in range(count):
                    site.recorder.record(ChargerState(ChargerId(f"CP-{n}"), True))
                    site.recorder.record(ChargerTelemetry(ChargerId(f"CP-{n}"), 1, power_w=11000))
                site.recorder.record(
                    MeterTelemetry(DeviceId("grid-1"), power_w=count * 11000 + 100_000)
                )
                site.sent.clear()
                await site.controller.tick()
                limits = {r.device_id: a.power_w for r, a in site.sent if r.name == "limit"}
                if count == 300:  # 3.3 MW wanted, 0.9 MW left beside the base load
                    assert len(limits) == 300
                    assert 850_000 <= sum(limits.values()) <= 900_000
        finally:
            controller_module.plan = planned  # type: ignore[assignment]
        assert threads[0] == threading.current_thread().name
        assert threads[1].startswith("site-plan")
    finally:
        await outbox.close()
