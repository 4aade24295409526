"""A `limit` command -> charging profile payloads, per OCPP version.

Choices (documented in docs/ocpp.md):
- evse 0/None (whole charger): OCPP 1.6 `ChargePointMaxProfile` on connector 0 (§3.13.2),
  2.x `ChargingStationMaxProfile` on EVSE 0 (K01.FR.38): a cap on the whole charger, which is
  what a site controller means. A `TxDefaultProfile` on connector 0 would instead give *each*
  connector the full amount.
- evse N: `TxDefaultProfile` on that connector/EVSE: it holds for the running session and
  the next ones, without needing a transaction id.
- One profile id per EVSE (`PROFILE_ID_BASE + evse`), so a renewal replaces the profile in
  place (1.6 §3.13.2, 2.0.1 K01.FR.05) and a clear removes exactly ours.
- With a TTL the schedule gets `duration` = TTL + `_GRACE_S`: if the gateway dies, the charger
  drops the limit by itself shortly after the gateway would have.
- OCPP 1.6 limits have one decimal (`multipleOf 0.1` in SetChargingProfile.json): rounded.
- Discharge (negative power) only on OCPP 2.1 chargers configured bidirectional: a
  `TxDefaultProfile` whose period uses operationMode `CentralSetpoint` with `setpoint` and
  `dischargeLimit` (OCPP 2.1 Part 2 §Q "V2X", ChargingSchedulePeriodType). The payload is built
  in camelCase here because the `ocpp` library's case conversion mangles `dischargeLimit_L2`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

__all__ = [
    "PROFILE_ID_BASE",
    "ChargerRating",
    "LimitPlan",
    "clear_profile",
    "plan_limit",
    "set_profile",
]

PROFILE_ID_BASE = 4200
_STACK_LEVEL = 1
_GRACE_S = 60
_SKEW_S = 60
"""startSchedule lies this far in the past so a charger whose clock runs behind applies it now."""


@dataclass(frozen=True, slots=True)
class ChargerRating:
    """What the config says about a charger's electrics (ChargerConfig fields)."""

    max_power_w: float
    phases: int
    voltage_v: float
    rate_unit: Literal["W", "A"] | None
    bidirectional: bool


@dataclass(frozen=True, slots=True)
class LimitPlan:
    evse: int
    unit: Literal["W", "A"]
    limit: float
    """In `unit`; negative: discharge (2.1 only)."""
    power_w: float
    current_a: float
    clamped: bool


def _unit(rating: ChargerRating, version: str) -> Literal["W", "A"]:
    if rating.rate_unit is not None:
        return rating.rate_unit
    return "A" if version == "1.6" else "W"


def plan_limit(
    power_w: float | None,
    current_a: float | None,
    evse: int | None,
    rating: ChargerRating,
    version: str,
) -> LimitPlan | str:
    """The limit to send, or the reason it cannot be sent (a rejection a person can act on)."""
    watts_per_amp = rating.phases * rating.voltage_v
    if power_w is None:
        if current_a is None:
            return "nothing to limit"
        power_w = current_a * watts_per_amp
    if power_w < 0:
        if version != "2.1":
            return f"negative limit (discharge) needs OCPP 2.1; this charger speaks {version}"
        if not rating.bidirectional:
            return "negative limit (discharge) needs a charger configured bidirectional: true"
    clamped = abs(power_w) > rating.max_power_w
    if clamped:
        power_w = math.copysign(rating.max_power_w, power_w)
    current = power_w / watts_per_amp
    unit = _unit(rating, version)
    limit = power_w if unit == "W" else current
    limit = round(limit, 1) if version == "1.6" else round(limit, 3)
    return LimitPlan(evse or 0, unit, limit, round(power_w, 3), round(current, 3), clamped)


def _start(now_s: float) -> str:
    start = datetime.fromtimestamp(int(now_s) - _SKEW_S, UTC)
    return start.strftime("%Y-%m-%dT%H:%M:%SZ")


def _period(plan: LimitPlan, phases: int) -> dict[str, Any]:
    if plan.limit < 0:
        return {
            "startPeriod": 0,
            "operationMode": "CentralSetpoint",
            "setpoint": plan.limit,
            "dischargeLimit": plan.limit,
            "limit": 0.0,
            "numberPhases": phases,
        }
    return {"startPeriod": 0, "limit": plan.limit, "numberPhases": phases}


def _purpose(plan: LimitPlan, version: str) -> str:
    if plan.evse == 0 and plan.limit >= 0:
        return "ChargePointMaxProfile" if version == "1.6" else "ChargingStationMaxProfile"
    return "TxDefaultProfile"


def set_profile(
    plan: LimitPlan, phases: int, version: str, now_s: float, ttl_s: float | None
) -> dict[str, Any]:
    """The SetChargingProfile request payload (camelCase, ready for the wire)."""
    schedule: dict[str, Any] = {
        "chargingRateUnit": plan.unit,
        "chargingSchedulePeriod": [_period(plan, phases)],
        "startSchedule": _start(now_s),
    }
    if ttl_s is not None:
        schedule["duration"] = math.ceil(ttl_s) + _GRACE_S + _SKEW_S
    profile: dict[str, Any] = {
        "stackLevel": _STACK_LEVEL,
        "chargingProfilePurpose": _purpose(plan, version),
        "chargingProfileKind": "Absolute",
    }
    profile_id = PROFILE_ID_BASE + plan.evse
    if version == "1.6":
        profile["chargingProfileId"] = profile_id
        profile["chargingSchedule"] = schedule
        return {"connectorId": plan.evse, "csChargingProfiles": profile}
    profile["id"] = profile_id
    profile["chargingSchedule"] = [{"id": profile_id, **schedule}]
    return {"evseId": plan.evse, "chargingProfile": profile}


def clear_profile(evse: int, version: str) -> dict[str, Any]:
    """ClearChargingProfile for the gateway's own profile on `evse` (by id: nothing else)."""
    if version == "1.6":
        return {"id": PROFILE_ID_BASE + evse}
    return {"chargingProfileId": PROFILE_ID_BASE + evse}
