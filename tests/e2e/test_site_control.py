"""Closed loop: the site controller holds grid import under the limit with real devices.

Simulated chargers (OCPP over websockets) and a battery inverter and grid meter (Modbus TCP)
form the site; the grid meter reads base load + chargers + battery, so whatever the gateway
commands shows up in the next meter reading, as on a real site.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.app import Gateway
from gateway.demo.broker import free_port
from gateway.foundation.config import Config
from simulators.charger import ChargerConfig, ChargerFleet, EvSpec, OcppVersion
from simulators.inverter import BatteryParams, InverterSimulator, MeterSimulator

LIMIT_W = 35_000.0
BASE_W = 20_000.0


@dataclass
class Site:
    gateway: Gateway
    fleet: ChargerFleet
    battery: InverterSimulator
    meter: MeterSimulator

    def chargers_w(self) -> float:
        return sum(sim.power_w(1) for sim in self.fleet)


@pytest.fixture
async def site(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Site]:
    soc = request.param
    battery = InverterSimulator(
        profile="sunspec", device_id="bess-1", soc_pct=soc,
        params=BatteryParams(capacity_wh=100_000, max_charge_w=30_000, max_discharge_w=30_000),
        update_interval_s=0.1,
    )  # fmt: skip
    meter = MeterSimulator(
        device_id="grid-1", base_load=BASE_W, battery=battery.battery, update_interval_s=0.1
    )
    await battery.start()
    await meter.start()
    ocpp_port = free_port()
    config = Config.model_validate({
        "site": {"id": "loop", "grid_import_limit_w": LIMIT_W, "controller_interval_s": 0.5,
                 "controller_margin_w": 1000},
        "state_dir": str(tmp_path),
        "http": {"enabled": False},
        "mqtt": {"enabled": False},
        "ocpp": {"host": "127.0.0.1", "port": ocpp_port, "authorize": {"accept_all": True},
                 "chargers": [{"id": "CP-1", "max_power_w": 11000}, {"id": "CP-2", "max_power_w": 11000}]},
        "modbus": {"devices": [
            {"id": "bess-1", "kind": "storage", "host": "127.0.0.1", "port": battery.port,
             "poll_interval_s": 0.2, "max_charge_w": 30000, "max_discharge_w": 30000,
             "soc_min_pct": 10, "soc_max_pct": 95, "initial_mode": "auto"},
            {"id": "grid-1", "kind": "meter", "host": "127.0.0.1", "port": meter.port, "poll_interval_s": 0.2},
        ]},
    })  # fmt: skip
    gateway = Gateway(config)
    await gateway.start()
    serve = asyncio.create_task(gateway.serve(install_signal_handlers=False))
    fleet = ChargerFleet(
        [
            ChargerConfig(cid, url=f"ws://127.0.0.1:{ocpp_port}/ocpp", ocpp_version=version,
                          max_power_w=11000, meter_interval_s=0.3, backoff_initial_s=0.2)
            for cid, version in (("CP-1", OcppVersion.V16), ("CP-2", OcppVersion.V201))
        ],
        stagger_s=0,
    )  # fmt: skip
    for sim in fleet:
        meter.add_load(lambda sim=sim: sim.power_w(1))  # type: ignore[misc]
    await fleet.start()
    for sim in fleet:
        await sim.wait_booted()
        await sim.plug_in(
            1, ev=EvSpec(capacity_kwh=80, initial_soc_pct=20, max_charge_w=11000), id_tag="TAG"
        )
    try:
        yield Site(gateway, fleet, battery, meter)
    finally:
        await fleet.stop()
        gateway.request_stop()
        await asyncio.wait_for(serve, 20)
        await meter.stop()
        await battery.stop()


async def settle(site: Site, predicate: object, timeout_s: float = 30.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not predicate():  # type: ignore[operator]
            await asyncio.sleep(0.1)


@pytest.mark.parametrize("site", [60.0], indirect=True)
async def test_a_charged_battery_covers_the_peak_and_no_ev_slows(site: Site) -> None:
    # 20 kW base + 2 x 11 kW EVs = 42 kW against a 35 kW limit.
    await settle(site, lambda: site.chargers_w() > 20_000)
    await settle(
        site, lambda: site.meter.power_w <= LIMIT_W and site.battery.battery.power_w < -5_000
    )
    assert site.battery.battery.power_w < -5_000  # discharging (load convention)
    assert all(sim.limit_w(1) is None for sim in site.fleet)  # no charger was curtailed
    assert site.chargers_w() > 20_000


@pytest.mark.parametrize("site", [8.0], indirect=True)
async def test_an_empty_battery_leaves_it_to_the_chargers(site: Site) -> None:
    await settle(site, lambda: all(sim.limit_w(1) is not None for sim in site.fleet))
    await settle(site, lambda: site.meter.power_w <= LIMIT_W)
    limits = [sim.limit_w(1) for sim in site.fleet]
    assert all(limit is not None and limit < 11_000 for limit in limits)
    assert abs(limits[0] - limits[1]) < 500  # equal shares  # type: ignore[operator]
    assert site.chargers_w() <= sum(limits) + 500  # type: ignore[arg-type]  # the EVs obey
    assert abs(site.battery.battery.power_w) < 500  # below soc_min: no discharge
