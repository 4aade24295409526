"""A `limit` command -> the charging profile sent for it, per OCPP version (pure).

Choices (documented in docs/ocpp.md "Limits"):
- Purpose: `charger_max` is 1.6 `ChargePointMaxProfile` on connector 0 / 2.x
  `ChargingStationMaxProfile` on EVSE 0 (K01.FR.38); `tx_default` is `TxDefaultProfile` (EVSE 0:
  every EVSE); `tx` is `TxProfile` with the transaction running on the EVSE (none running: sent
  without a transaction id, and the charger's answer decides). Without a purpose: `charger_max`
  on EVSE 0 and `tx_default` on an EVSE, as before purposes existed (a discharge on EVSE 0 is a
  `tx_default`: a station maximum caps import and cannot ask for export).
- One profile id per (purpose, EVSE) (`profile_id`), so a new limit replaces the previous one
  in place (1.6 §3.13.2, 2.0.1 K01.FR.05) and a clear by id removes exactly the gateway's. A
  plain limit (the combined cap, limits.py) keeps 4200 + EVSE; explicit profiles have their
  own ids.
- The unit is the command's (`power_w` -> W, `current_a` -> A) unless the charger's config fixes
  `rate_unit`; A = W / (phases * voltage). Limits have one decimal (1.6 `multipleOf 0.1`,
  2.0.1 "at most one digit fraction"). Beyond `max_power_w` a value is clamped.
- Time: charger clocks run behind, so a schedule without `start` starts a minute in the past
  (`SKEW_S`) and its later periods are shifted by that minute, so they begin when the command
  said; `valid_from` defaults to the same instant. With a TTL an absolute schedule gets
  `duration` = TTL + `GRACE_S` (+ the skew) and every kind gets `validTo` = TTL end + `GRACE_S`:
  if the gateway dies the charger drops the limit itself shortly after the gateway would have.
- Discharge (negative values) only on OCPP 2.1 chargers configured bidirectional: the period
  uses operationMode `CentralSetpoint` with `setpoint` and `dischargeLimit` (2.1 Part 2 §Q,
  ChargingSchedulePeriodType); explicit `operation_mode`/`setpoint`/`discharge_limit` are 2.1
  only. Payloads are camelCase: the `ocpp` library's case conversion mangles `setpoint_L2`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from drivers.ocpp.core.profiles import ChargerRating
from gateway.foundation.commands.schemas import LimitCommand, SchedulePeriod
from gateway.foundation.model.versions import OcppVersion

__all__ = [
    "GRACE_S",
    "PLAIN_PROFILE_ID_BASE",
    "PLAIN_STACK_LEVEL",
    "SKEW_S",
    "PlannedPeriod",
    "ProfilePlan",
    "Purpose",
    "charging_profile",
    "default_purpose",
    "plan_profile",
    "profile_id",
    "purpose_name",
    "resolve_purpose",
    "set_profile_payload",
]

Purpose = Literal["charger_max", "tx_default", "tx"]
Unit = Literal["W", "A"]

GRACE_S = 60
SKEW_S = 60
"""startSchedule lies this far in the past so a charger whose clock runs behind applies it now."""


PLAIN_PROFILE_ID_BASE = 4200
"""A plain `limit` (the sources' combined cap) is profile 4200 + EVSE, as before purposes."""
PLAIN_STACK_LEVEL = 1
"""The combined cap's stack level (explicit profiles default to 2, one above)."""


def profile_id(purpose: Purpose, evse: int) -> int:
    """The id of the gateway's explicit profile for (purpose, EVSE): its own range, so it never
    replaces the combined cap of plain limits (4200 + EVSE)."""
    if purpose == "charger_max":
        return 5000
    if purpose == "tx":
        return 6000 + evse
    return 7000 + evse


def purpose_name(purpose: Purpose, version: OcppVersion) -> str:
    if purpose == "charger_max":
        return "ChargePointMaxProfile" if version == OcppVersion.V16 else "ChargingStationMaxProfile"
    return "TxDefaultProfile" if purpose == "tx_default" else "TxProfile"


def default_purpose(evse: int, discharging: bool) -> Purpose:
    return "charger_max" if evse == 0 and not discharging else "tx_default"


def _periods(args: LimitCommand) -> list[SchedulePeriod]:
    if args.schedule is not None:
        return list(args.schedule)
    if args.power_w is None and args.current_a is None:
        return []
    return [SchedulePeriod(offset_s=0, power_w=args.power_w, current_a=args.current_a)]


def resolve_purpose(args: LimitCommand) -> Purpose:
    """The command's purpose, or the default for its EVSE and sign."""
    if args.purpose is not None:
        return args.purpose
    return default_purpose(args.evse or 0, any(p.value < 0 for p in _periods(args)))


@dataclass(frozen=True, slots=True)
class PlannedPeriod:
    offset_s: int
    """Seconds after the schedule's start, as the command gave them."""
    power_w: float
    current_a: float
    sent: float
    """The value in the unit sent (negative: discharge)."""
    phases: int
    operation_mode: str | None = None
    setpoint: float | None = None
    discharge_limit: float | None = None
    """In the unit sent."""


@dataclass(frozen=True, slots=True)
class ProfilePlan:
    purpose: Purpose
    evse: int
    profile_id: int
    stack_level: int
    kind: Literal["absolute", "relative", "recurring"]
    recurrency: Literal["daily", "weekly"] | None
    unit: Unit
    requested_unit: Unit
    clamped: bool
    periods: tuple[PlannedPeriod, ...]
    start_s: float | None
    """startSchedule (epoch seconds); None for relative schedules."""
    shift_s: int
    """Added to every period but the first (see SKEW_S)."""
    valid_from_s: float
    valid_to_s: float | None
    duration_s: int | None
    transaction_id: str | None
    single: bool
    """The command gave one value, not a schedule."""

    @property
    def converted(self) -> bool:
        return self.unit != self.requested_unit

    def detail(self) -> dict[str, Any]:
        """What was sent, for the command's result."""
        first = self.periods[0]
        detail: dict[str, Any] = {
            "purpose": self.purpose,
            "evse": self.evse,
            "profile_id": self.profile_id,
            "stack_level": self.stack_level,
            "kind": self.kind,
            "rate_unit": self.unit,
            "converted": self.converted,
            "clamped": self.clamped,
            "valid_from": _iso(self.valid_from_s),
        }
        if self.single:
            detail["applied_power_w"] = first.power_w
            detail["applied_current_a"] = first.current_a
        else:
            detail["schedule"] = [
                {"offset_s": p.offset_s, "power_w": p.power_w, "current_a": p.current_a}
                for p in self.periods
            ]
        if self.valid_to_s is not None:
            detail["valid_to"] = _iso(self.valid_to_s)
        if self.start_s is not None:
            detail["start"] = _iso(self.start_s + self.shift_s)  # where offset 0 falls
        if self.recurrency is not None:
            detail["recurrency"] = self.recurrency
        if self.transaction_id is not None:
            detail["transaction_id"] = self.transaction_id
        return detail


def _iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(int(epoch_s), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _round(value: float) -> float:
    return round(value, 1) + 0.0  # one decimal for every version; no "-0.0"


class _Refused(Exception):
    pass


def _watts(value: float, unit: Unit, watts_per_amp: float) -> float:
    return value if unit == "W" else value * watts_per_amp


def _plan_period(
    period: SchedulePeriod,
    unit_out: Unit,
    rating: ChargerRating,
    version: OcppVersion,
    purpose: Purpose,
) -> tuple[PlannedPeriod, bool]:
    phases = period.phases or rating.phases
    if phases > rating.phases:
        raise _Refused(
            f"period at offset_s {period.offset_s} asks for {phases} phases;"
            f" the charger has {rating.phases}"
        )
    v2g = (period.operation_mode, period.setpoint, period.discharge_limit) != (None, None, None)
    if v2g and version != OcppVersion.V21:
        raise _Refused(
            "operation_mode, setpoint and discharge_limit need OCPP 2.1;"
            f" this charger speaks {version}"
        )
    if min(period.value, period.setpoint or 0.0, period.discharge_limit or 0.0) < 0:
        if purpose == "charger_max":
            raise _Refused("charger_max caps what the charger draws: it cannot be negative")
        if version != OcppVersion.V21:
            raise _Refused(
                f"negative limit (discharge) needs OCPP 2.1; this charger speaks {version}"
            )
        if not rating.bidirectional:
            raise _Refused(
                "negative limit (discharge) needs a charger configured bidirectional: true"
            )
    if period.operation_mode is not None and period.value < 0:
        raise _Refused("with operation_mode, give the discharge as setpoint / discharge_limit")
    watts_per_amp = phases * rating.voltage_v
    clamped = False

    def convert(value: float) -> tuple[float, float, float]:
        nonlocal clamped
        power = _watts(value, period.unit, watts_per_amp)
        if abs(power) > rating.max_power_w:
            clamped = True
            power = math.copysign(rating.max_power_w, power)
        exact = power if unit_out == "W" else power / watts_per_amp
        # Clamped: towards zero, so rounding cannot step over the rating again.
        sent = math.trunc(exact * 10) / 10 + 0.0 if clamped else _round(exact)
        # What the charger is told is what applies: derive both from the rounded value.
        power = sent if unit_out == "W" else sent * watts_per_amp
        return round(power, 3) + 0.0, round(power / watts_per_amp, 3) + 0.0, sent

    power_w, current_a, sent = convert(period.value)
    setpoint = None if period.setpoint is None else convert(period.setpoint)[2]
    discharge = None if period.discharge_limit is None else convert(period.discharge_limit)[2]
    planned = PlannedPeriod(
        period.offset_s,
        power_w,
        current_a,
        sent,
        phases,
        period.operation_mode,
        setpoint,
        discharge,
    )
    return planned, clamped


def plan_profile(
    args: LimitCommand,
    *,
    version: OcppVersion,
    rating: ChargerRating,
    now_s: float,
    stack_level: int,
    transaction_id: str | None = None,
    remote_start: bool = False,
    own_id: int | None = None,
) -> ProfilePlan | str:
    """The profile to send for `args`, or the reason it cannot be sent (a person can act on it).

    `stack_level` is used when the command gives none (the gateway's own, or the level the
    previous profile of this purpose and EVSE had); `transaction_id` binds a `tx` profile;
    `remote_start`: the TxProfile of a remote start (its EVSE may be left to the charger);
    `own_id`: the profile id to use instead of the purpose's (a plain limit's).
    """
    try:
        plan = _plan(args, version, rating, now_s, stack_level, transaction_id, remote_start)
    except _Refused as refused:
        return str(refused)
    if own_id is not None:
        plan = dataclasses.replace(plan, profile_id=own_id)
    return plan


def _plan(
    args: LimitCommand,
    version: OcppVersion,
    rating: ChargerRating,
    now_s: float,
    stack_level: int,
    transaction_id: str | None,
    remote_start: bool,
) -> ProfilePlan:
    periods = _periods(args)
    if not periods:
        raise _Refused("nothing to limit")
    evse = args.evse or 0
    purpose = resolve_purpose(args)
    if purpose == "charger_max" and evse != 0:
        raise _Refused("charger_max caps the whole charger: give evse 0 or none")
    if purpose == "tx" and evse == 0 and not remote_start:
        raise _Refused("a tx limit binds the transaction on one EVSE: give evse 1 or more")
    requested: Unit = periods[0].unit
    unit: Unit = rating.rate_unit or requested
    planned: list[PlannedPeriod] = []
    clamped = False
    for period in periods:
        one, was_clamped = _plan_period(period, unit, rating, version, purpose)
        planned.append(one)
        clamped = clamped or was_clamped
    kind = args.kind or "absolute"
    base = float(int(now_s) - SKEW_S)
    start_s: float | None = None
    shift = 0
    if kind != "relative":
        if args.start is not None:
            start_s = args.start.timestamp()
        else:
            start_s, shift = base, SKEW_S
    ttl_end = None if args.ttl_s is None else now_s + args.ttl_s + GRACE_S
    duration = None
    if kind == "absolute" and ttl_end is not None and start_s is not None:
        duration = math.ceil(ttl_end - start_s)
        if duration <= 0:
            raise _Refused("start is after the TTL ends: the limit would never apply")
    valid_from = base if args.valid_from is None else args.valid_from.timestamp()
    valid_to = ttl_end if args.valid_to is None else args.valid_to.timestamp()
    if valid_to is not None and valid_to <= max(valid_from, now_s):
        raise _Refused("valid_to is not in the future: the limit would never apply")
    return ProfilePlan(
        purpose=purpose,
        evse=evse,
        profile_id=profile_id(purpose, evse),
        stack_level=stack_level if args.stack_level is None else args.stack_level,
        kind=kind,
        recurrency=args.recurrency,
        unit=unit,
        requested_unit=requested,
        clamped=clamped,
        periods=tuple(planned),
        start_s=start_s,
        shift_s=shift,
        valid_from_s=valid_from,
        valid_to_s=valid_to,
        duration_s=duration,
        transaction_id=transaction_id if purpose == "tx" else None,
        single=args.schedule is None,
    )


def _period_payload(p: PlannedPeriod, shift_s: int) -> dict[str, Any]:
    start = p.offset_s + shift_s if p.offset_s else 0
    out: dict[str, Any] = {"startPeriod": start}
    if p.operation_mode is None and p.sent < 0:
        out.update(operationMode="CentralSetpoint", setpoint=p.sent, dischargeLimit=p.sent)
        out["limit"] = 0.0
    else:
        out["limit"] = p.sent
        if p.operation_mode is not None:
            out["operationMode"] = p.operation_mode
        if p.setpoint is not None:
            out["setpoint"] = p.setpoint
        if p.discharge_limit is not None:
            out["dischargeLimit"] = p.discharge_limit
    out["numberPhases"] = p.phases
    return out


def charging_profile(plan: ProfilePlan, version: OcppVersion) -> dict[str, Any]:
    """The profile object: 1.6 `csChargingProfiles` / 2.x `ChargingProfileType` (camelCase)."""
    schedule: dict[str, Any] = {
        "chargingRateUnit": plan.unit,
        "chargingSchedulePeriod": [_period_payload(p, plan.shift_s) for p in plan.periods],
    }
    if plan.start_s is not None:
        schedule["startSchedule"] = _iso(plan.start_s)
    if plan.duration_s is not None:
        schedule["duration"] = plan.duration_s
    profile: dict[str, Any] = {
        "stackLevel": plan.stack_level,
        "chargingProfilePurpose": purpose_name(plan.purpose, version),
        "chargingProfileKind": plan.kind.capitalize(),
        "validFrom": _iso(plan.valid_from_s),
    }
    if plan.recurrency is not None:
        profile["recurrencyKind"] = plan.recurrency.capitalize()
    if plan.valid_to_s is not None:
        profile["validTo"] = _iso(plan.valid_to_s)
    if version == OcppVersion.V16:
        profile["chargingProfileId"] = plan.profile_id
        if plan.transaction_id is not None:
            profile["transactionId"] = int(plan.transaction_id)
        profile["chargingSchedule"] = schedule
        return profile
    profile["id"] = plan.profile_id
    if plan.transaction_id is not None:
        profile["transactionId"] = plan.transaction_id
    profile["chargingSchedule"] = [{"id": plan.profile_id, **schedule}]
    return profile


def set_profile_payload(plan: ProfilePlan, version: OcppVersion) -> dict[str, Any]:
    """The SetChargingProfile request payload."""
    if version == OcppVersion.V16:
        return {"connectorId": plan.evse, "csChargingProfiles": charging_profile(plan, version)}
    return {"evseId": plan.evse, "chargingProfile": charging_profile(plan, version)}
