"""Clamping to limits and the SoC window, and setpoints as register writes (pure)."""

from __future__ import annotations

import pytest

from drivers.modbus.registers import decode_value
from drivers.modbus.setpoint import PowerLimits, clamp_power_w
from drivers.modbus.sunspec.controls import Model124Control, Model704Control
from drivers.modbus.sunspec.discovery import ModelLocation
from drivers.modbus.sunspec.models import MODELS

LIMITS = PowerLimits(max_charge_w=20_000, max_discharge_w=30_000, soc_min_pct=10, soc_max_pct=95)


@pytest.mark.parametrize(
    ("power", "soc", "applied", "reason_part"),
    [
        (5_000, 50, 5_000, None),
        (25_000, 50, 20_000, "max_charge_w 20000"),
        (-40_000, 50, -30_000, "max_discharge_w 30000"),
        (-5_000, 10, 0, "soc_min_pct"),
        (-5_000, 5, 0, "soc_min_pct"),
        (5_000, 10, 5_000, None),  # charging at the floor is fine
        (5_000, 95, 0, "soc_max_pct"),
        (-5_000, 95, -5_000, None),  # discharging at the ceiling is fine
        (-5_000, None, -5_000, None),  # SoC unknown: only the power limits apply
    ],
)
def test_clamp(power: float, soc: float | None, applied: float, reason_part: str | None) -> None:
    result = clamp_power_w(power, LIMITS, soc)
    assert result.applied_w == applied
    assert result.clamped is (applied != power)
    if reason_part is None:
        assert result.reason is None
    else:
        assert result.reason is not None and reason_part in result.reason


def test_device_limits_tighten_configured_ones() -> None:
    both = LIMITS.tighten(10_000, None)
    assert (both.max_charge_w, both.max_discharge_w) == (10_000, 30_000)
    assert PowerLimits().tighten(None, 7).max_discharge_w == 7


def _image(model: ModelLocation, values: dict[str, int]) -> dict[tuple[int, int], int]:
    points = MODELS[model.model_id].points
    return {(1, model.address + points[name].offset): v for name, v in values.items()}


def test_704_writes_wset_in_generator_convention_with_scale_factor() -> None:
    model = ModelLocation(704, 40225, 65)
    control = Model704Control(model, 1)
    image = _image(model, {"WSet_SF": 1})  # 10 W steps
    plan = control.plan_setpoint(12_345, revert_s=60, fallback_w=-1000, image=image)
    timer, main = plan.writes
    assert timer.address == 40225 + 30  # WSetEnaRvrt, then WSetRvrtTms
    assert timer.registers == (1, 0, 60)
    assert main.address == 40225 + 22  # WSetEna, WSetMod, WSet, WSetRvrt
    assert main.registers[:2] == (1, 1)
    assert decode_value(main.registers[2:4], "int32") == -1234  # charging is negative WSet
    assert decode_value(main.registers[4:6], "int32") == 100  # fallback discharge 1000 W
    assert plan.applied_power_w == 12_340.0
    assert plan.checks[0].expected == main.registers[:4]
    with pytest.raises(ValueError, match="WSet_SF"):
        control.plan_setpoint(
            1, revert_s=60, fallback_w=0, image=_image(model, {"WSet_SF": 0x8000})
        )


def test_124_writes_rates_as_percent_of_wchamax() -> None:
    model = ModelLocation(124, 40122, 24)
    control = Model124Control(model, 1)
    image = _image(
        model, {"WChaMax": 5000, "WChaMax_SF": 1, "InOutWRte_SF": 0xFFFE, "StorCtl_Mod": 0,
                "OutWRte": 0, "InWRte": 0},
    )  # fmt: skip  # 50 kW max; rates in 0.01 %
    charge = control.plan_setpoint(20_000, revert_s=30, fallback_w=0, image=image)
    timer, rates, mode = charge.writes
    assert timer.registers == (30,)
    assert rates.registers == (0, 4000)  # InWRte 40.00 %
    assert mode.registers == (1,)
    assert charge.applied_power_w == 20_000
    discharge = control.plan_setpoint(-10_000, revert_s=30, fallback_w=0, image=image)
    assert discharge.writes[1].registers == (2000, 0) and discharge.writes[2].registers == (2,)
    assert discharge.applied_power_w == -10_000
    hold = control.plan_setpoint(0, revert_s=30, fallback_w=0, image=image)
    assert hold.writes[2].registers == (3,) and hold.writes[1].registers == (0, 0)
    too_much = control.plan_setpoint(90_000, revert_s=30, fallback_w=0, image=image)
    assert too_much.writes[1].registers == (0, 10000)  # never above 100 %
