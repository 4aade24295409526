"""An explicit profile held to the other sources' limit on its EVSE (pure).

An explicit profile (a `limit` with a purpose, schedule, ...) sits at stack level 2, above the
combined cap of plain limits (level 1): within its purpose the charger follows it, not the
combined cap. So that no source can lift another's limit, every period of an explicit profile
is held to the limit in force from the other sources (the control centre's plain cap, the
site controller's share, the rating) before it is sent, and sent again when that changes.
The charger then follows the lowest of them, whatever the stack levels say.
"""

from __future__ import annotations

import dataclasses
import math

from drivers.ocpp.core.profile_plan import PlannedPeriod, ProfilePlan

__all__ = ["cap_plan", "sent_values"]


def _floor_tenth(value: float) -> float:
    """One decimal (what every OCPP version carries), rounded down so it stays under the cap;
    the nudge keeps 23.0 from reading as 22.999999999999996 and losing a tenth."""
    return math.floor(value * 10 + 1e-9) / 10 + 0.0


def _cap_period(period: PlannedPeriod, cap_w: float, unit: str, voltage_v: float) -> PlannedPeriod:
    watts_per_amp = period.phases * voltage_v
    cap_sent = _floor_tenth(cap_w if unit == "W" else cap_w / watts_per_amp)
    setpoint = period.setpoint
    if setpoint is not None and setpoint > cap_sent:
        setpoint = cap_sent
    if period.sent <= cap_sent and setpoint == period.setpoint:
        return period
    sent = min(period.sent, cap_sent)
    power = sent if unit == "W" else sent * watts_per_amp
    return dataclasses.replace(
        period,
        power_w=round(power, 3) + 0.0,
        current_a=round(power / watts_per_amp, 3) + 0.0,
        sent=sent,
        setpoint=setpoint,
    )


def cap_plan(plan: ProfilePlan, cap_w: float | None, voltage_v: float) -> ProfilePlan:
    """`plan` with every period at most `cap_w` (None: nothing to hold it to).

    A `charger_max` profile caps import and cannot ask for a discharge, nor can a period whose
    operation mode is given explicitly: for those a negative cap (a V2G share) holds them at 0.
    """
    if cap_w is None:
        return plan
    periods = []
    for period in plan.periods:
        cap = cap_w
        if cap < 0 and (plan.purpose == "charger_max" or period.operation_mode is not None):
            cap = 0.0
        periods.append(_cap_period(period, cap, plan.unit, voltage_v))
    capped = tuple(periods)
    return plan if capped == plan.periods else dataclasses.replace(plan, periods=capped)


def sent_values(plan: ProfilePlan) -> tuple[tuple[float, float | None], ...]:
    """What the charger is told, period by period: a re-send is needed when this changes."""
    return tuple((p.sent, p.setpoint) for p in plan.periods)
