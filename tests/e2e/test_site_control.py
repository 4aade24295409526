"""Closed loop: the site controller holds grid import under the limit with real devices.

Simulated chargers (OCPP over websockets) and a battery inverter and grid meter (Modbus TCP)
form the site; the grid meter reads base load + chargers + battery, so whatever the gateway
commands shows up in the next meter reading, as on a real site.
"""

from __future__ import annotations

from pathlib import Path

from gateway.demo.closed_loop import SimCharger, site_loop
from simulators.charger import OcppVersion

LIMIT_W = 35_000.0
TWO = [SimCharger("CP-1", OcppVersion.V16), SimCharger("CP-2", OcppVersion.V201)]


async def test_a_charged_battery_covers_the_peak_and_no_ev_slows(tmp_path: Path) -> None:
    # 20 kW base + 2 x 11 kW EVs = 42 kW against a 35 kW limit.
    async with site_loop(tmp_path, TWO, soc_pct=60.0) as loop:
        await loop.settle(lambda: loop.chargers_w() > 20_000)
        await loop.settle(
            lambda: loop.meter.power_w <= LIMIT_W and loop.battery.battery.power_w < -5_000
        )
        assert all(sim.limit_w(1) is None for sim in loop.fleet)  # no charger was curtailed
        assert loop.chargers_w() > 20_000


async def test_an_empty_battery_leaves_it_to_the_chargers(tmp_path: Path) -> None:
    async with site_loop(tmp_path, TWO, soc_pct=8.0) as loop:
        await loop.settle(lambda: all(sim.limit_w(1) is not None for sim in loop.fleet))
        await loop.settle(lambda: loop.meter.power_w <= LIMIT_W)
        limits = [sim.limit_w(1) for sim in loop.fleet]
        assert all(limit is not None and limit < 11_000 for limit in limits)
        assert abs(limits[0] - limits[1]) < 500  # equal shares  # type: ignore[operator]
        assert loop.chargers_w() <= sum(limits) + 500  # type: ignore[arg-type]  # the EVs obey
        assert abs(loop.battery.battery.power_w) < 500  # below soc_min: no discharge
