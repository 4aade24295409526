"""Setpoint controls and reversion timers (SunSpec 704 WSetRvrtTms, 124 InOutWRte_RvrtTms)."""

from __future__ import annotations

import pytest

from simulators.inverter.battery import Battery, BatteryParams
from simulators.inverter.controls import DerControls, StorageControls
from simulators.inverter.storage import StorageDevice


def test_wset_watts_is_generator_convention() -> None:
    ctl = DerControls(50_000, 40_000)
    ctl.write("WSetEna", 1, now=0)
    ctl.write("WSet", 20_000, now=0)  # inject = discharge
    assert ctl.requested_w() == -20_000
    ctl.write("WSet", -15_000, now=0)  # absorb = charge
    assert ctl.requested_w() == 15_000
    ctl.write("WSetEna", 0, now=0)
    assert ctl.requested_w() == 0


def test_wset_percent_mode_scales_with_the_direction_limit() -> None:
    ctl = DerControls(50_000, 40_000)
    ctl.write("WSetEna", 1, now=0)
    ctl.write("WSetMod", 0, now=0)
    ctl.write("WSetPct", 50, now=0)
    assert ctl.requested_w() == -20_000
    ctl.write("WSetPct", -10, now=0)
    assert ctl.requested_w() == 5_000
    with pytest.raises(ValueError):
        ctl.write("WSetPct", 150, now=0)
    with pytest.raises(ValueError):
        ctl.write("WSetMod", 2, now=0)


def test_reversion_timer_counts_down_restarts_and_reverts() -> None:
    ctl = DerControls(50_000, 50_000)
    ctl.write("WSetRvrtTms", 30, now=0)
    ctl.write("WSetEna", 1, now=0)
    ctl.write("WSet", 10_000, now=0)
    assert ctl.remaining_s(now=10) == 20
    ctl.write("WSet", 10_000, now=20)  # rewritten: the timer starts again
    assert ctl.remaining_s(now=40) == 10
    assert not ctl.expire(now=49)
    assert ctl.expire(now=50)
    assert ctl.ena == 0 and ctl.requested_w() == 0 and ctl.remaining_s(now=51) == 0


def test_reversion_to_the_reversion_setpoint_when_enabled() -> None:
    ctl = DerControls(50_000, 50_000)
    ctl.write("WSetRvrt", -5_000, now=0)
    ctl.write("WSetEnaRvrt", 1, now=0)
    ctl.write("WSetRvrtTms", 10, now=0)
    ctl.write("WSetEna", 1, now=0)
    ctl.write("WSet", 30_000, now=0)
    assert ctl.expire(now=10)
    assert ctl.requested_w() == 5_000


@pytest.mark.parametrize(
    ("mod", "in_rte", "out_rte", "expected"),
    [
        (0, 100, 100, 0),  # no bit: hold
        (1, 40, 100, 20_000),  # charge at InWRte
        (2, 100, 30, -15_000),  # discharge at OutWRte
        (2, 100, -20, 10_000),  # negative OutWRte charges
        (1, -10, 100, -5_000),  # negative InWRte discharges
        (3, 50, 50, 0),  # window containing 0: hold
        (3, 50, -20, 10_000),  # window forced to charge
    ],
)
def test_storage_control_modes(mod: int, in_rte: float, out_rte: float, expected: float) -> None:
    ctl = StorageControls(wcha_max=50_000)
    ctl.write("InWRte", in_rte, now=0)
    ctl.write("OutWRte", out_rte, now=0)
    ctl.write("StorCtl_Mod", mod, now=0)
    assert ctl.requested_w() == expected


def test_storage_control_reverts_to_hold() -> None:
    ctl = StorageControls(wcha_max=50_000)
    ctl.write("InOutWRte_RvrtTms", 60, now=0)
    ctl.write("InWRte", 50, now=0)
    ctl.write("StorCtl_Mod", 1, now=0)
    assert ctl.expire(now=60)
    assert ctl.storctl_mod == 0 and ctl.requested_w() == 0


def test_device_integrates_only_until_the_reversion() -> None:
    battery = Battery(BatteryParams(round_trip_efficiency=1.0), soc_pct=50)
    device = StorageDevice("b", battery)
    image = device.image
    device.write(image.address_of(704, "WSetRvrtTms"), [0, 600], now=0)
    device.write(image.address_of(704, "WSetEna"), [1], now=0)
    device.write(image.address_of(704, "WSet"), [0xFFFF, (-36_000) & 0xFFFF], now=0)
    device.sync(3600)  # charging at 36 kW for 600 s only: 6 kWh
    assert battery.soc_pct == pytest.approx(56)
    assert battery.power_w == 0
    assert image.block(704).values["WSetEna"] == 0
    assert image.block(704).values["WSetRvrtRem"] == 0
