"""The site controller's shell with real router, recorder and outbox; drivers are stand-ins
that record the commands they get (the closed loop with real devices is in tests/e2e)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.foundation.clock import FakeClock
from gateway.foundation.commands.router import CommandRouter
from gateway.foundation.config import Config
from gateway.foundation.leases import LeaseTable
from gateway.foundation.model import (
    ChargerId,
    ChargerTelemetry,
    CommandRequest,
    CommandResult,
    DeviceId,
    DeviceKind,
    MeterTelemetry,
    SiteTelemetry,
    StorageState,
    StorageTelemetry,
)
from gateway.outbox import Outbox
from gateway.recorder import Recorder
from gateway.site import SiteController
from gateway.topics import Topics


class Site:
    def __init__(self, config: Config, outbox: Outbox) -> None:
        self.clock = FakeClock()
        self.router = CommandRouter()
        self.recorder = Recorder(outbox, Topics("p", "s"))
        self.leases = LeaseTable(self.clock)
        self.sent: list[tuple[CommandRequest, Any]] = []
        for target, name in ((DeviceKind.CHARGER, "limit"), (DeviceKind.STORAGE, "setpoint")):
            self.router.register(target, name, self._handler)
        self.controller = SiteController(
            config, self.recorder, self.router, self.leases, self.clock
        )

    async def _handler(self, request: CommandRequest, args: Any) -> CommandResult:
        self.sent.append((request, args))
        return CommandResult.accepted()

    def feed(
        self, grid_w: float, a_w: float, b_w: float, *, mode: str = "auto", soc: float = 60
    ) -> None:
        self.recorder.record(MeterTelemetry(DeviceId("grid-1"), power_w=grid_w))
        self.recorder.record(ChargerTelemetry(ChargerId("CP-A"), 1, power_w=a_w))
        self.recorder.record(ChargerTelemetry(ChargerId("CP-B"), 1, power_w=b_w))
        self.recorder.record(StorageState(DeviceId("bess-1"), True, mode=mode))  # type: ignore[arg-type]
        self.recorder.record(StorageTelemetry(DeviceId("bess-1"), power_w=0, soc_pct=soc))

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
    assert all(r.source == "site_controller" for r, _ in site.sent)


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
    site.feed(grid_w=99_000, a_w=22000, b_w=22000)  # inside the band now
    await site.controller.tick()
    assert site.commands() == [("bess-1", "setpoint", {"power_w": -11000, "ttl_s": 30.0})]


async def test_a_stale_grid_reading_freezes_the_controller(site: Site) -> None:
    site.feed(grid_w=140_000, a_w=22000, b_w=22000)
    await site.clock.advance(60)  # the meter has not reported for a minute
    decided = await site.controller.tick()
    assert decided.empty and site.sent == []


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
    assert site.controller.limits.source == "config"
