"""Grid meter: site power = base load + other loads + battery; energy counters (no sockets)."""

from __future__ import annotations

import pytest

from simulators.inverter.battery import Battery, BatteryParams
from simulators.inverter.meter import MeterDevice, daily_curve


def test_site_power_sums_base_chargers_and_battery() -> None:
    battery = Battery(BatteryParams())
    battery.step(0, 10_000)  # charging: the site imports more
    chargers = [lambda: 22_000.0, lambda: 11_000.0]
    meter = MeterDevice("m", base_load=5_000.0, other_loads=chargers, battery=battery)
    assert meter.site_power_w(0) == 48_000
    battery.step(0, -50_000)
    assert meter.site_power_w(0) == -12_000


def test_energy_accumulates_into_import_and_export() -> None:
    power = {"w": 10_000.0}
    meter = MeterDevice("m", base_load=0.0, other_loads=[lambda: power["w"]])
    meter.sync(3600)
    assert meter.import_wh == pytest.approx(10_000)
    power["w"] = -4_000
    meter.sync(3600.001)
    meter.sync(7200)
    assert meter.export_wh == pytest.approx(4_000, rel=1e-3)
    values = meter.image.block(203).values
    assert values["W"] == pytest.approx(-4_000)
    assert values["TotWhImp"] == pytest.approx(meter.import_wh)


def test_frozen_meter_keeps_its_last_reading() -> None:
    power = {"w": 1_000.0}
    meter = MeterDevice("m", base_load=0.0, other_loads=[lambda: power["w"]])
    meter.frozen = True
    power["w"] = 9_000
    meter.sync(10)
    assert meter.image.block(203).values["W"] == 1_000


def test_daily_curve_peaks_at_the_peak_hour() -> None:
    curve = daily_curve(10_000, 50_000, peak_hour=18)
    assert curve(18 * 3600) == pytest.approx(50_000)
    assert curve(6 * 3600) == pytest.approx(10_000)
