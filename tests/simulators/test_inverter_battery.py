"""Battery physics: SoC integration, efficiency, power and SoC limits (no sockets)."""

from __future__ import annotations

import math

import pytest

from simulators.inverter.battery import Battery, BatteryParams

PARAMS = BatteryParams(
    capacity_wh=100_000, max_charge_w=50_000, max_discharge_w=40_000,
    soc_min_pct=10, soc_max_pct=90, round_trip_efficiency=0.81,
)  # fmt: skip


def test_charging_one_hour_stores_power_times_efficiency() -> None:
    battery = Battery(PARAMS, soc_pct=50)
    assert battery.step(3600, 10_000) == 10_000
    assert battery.soc_pct == pytest.approx(50 + 10 * math.sqrt(0.81))
    assert battery.charged_ac_wh == pytest.approx(10_000)
    assert battery.power_w == 10_000


def test_discharging_draws_more_from_the_cells_than_it_delivers() -> None:
    battery = Battery(PARAMS, soc_pct=50)
    assert battery.step(3600, -9_000) == -9_000
    assert battery.soc_pct == pytest.approx(50 - 9 / 0.9)
    assert battery.discharged_ac_wh == pytest.approx(9_000)
    assert battery.dc_power_w == pytest.approx(-10_000)


def test_power_is_clamped_to_the_limits() -> None:
    battery = Battery(PARAMS, soc_pct=50)
    assert battery.step(1, 80_000) == 50_000
    assert battery.step(1, -80_000) == -40_000


def test_charge_stops_exactly_at_soc_max() -> None:
    battery = Battery(PARAMS, soc_pct=89)
    battery.step(3600, 50_000)
    assert battery.soc_pct == pytest.approx(90)
    assert battery.power_w == 0
    assert battery.charged_ac_wh == pytest.approx(1000 / 0.9)
    assert battery.step(60, 50_000) == 0  # full: no more charging
    assert battery.step(60, -1_000) == -1_000  # discharging is still allowed


def test_discharge_stops_at_soc_min_and_at_a_raised_floor() -> None:
    battery = Battery(PARAMS, soc_pct=11)
    battery.step(3600, -40_000)
    assert battery.soc_pct == pytest.approx(10)
    assert battery.step(60, -1_000) == 0
    assert battery.step(60, 1_000) == 1_000
    battery.soc_floor_pct = 30  # e.g. model 124 MinRsvPct
    assert battery.clamp(-5_000) == 0


def test_self_consumption_drains_the_cells_at_idle() -> None:
    battery = Battery(BatteryParams(self_consumption_w=100), soc_pct=50)
    battery.step(3600, 0)
    assert battery.energy_wh == pytest.approx(50_000 - 100)
    assert battery.power_w == 0


def test_invalid_parameters_are_refused() -> None:
    with pytest.raises(ValueError):
        BatteryParams(soc_min_pct=50, soc_max_pct=40)
    with pytest.raises(ValueError):
        BatteryParams(round_trip_efficiency=0)
