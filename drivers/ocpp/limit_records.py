"""The limits a charger holds as `state.limits` entries, and their stored JSON form (pure).

An entry is what the gateway sent (profile_plan.ProfilePlan) plus who asked (`source`) and when
its TTL ends. Stored entries survive a gateway restart. An explicit profile's entry is stored
with the plan as asked (`plan`), so a restarted gateway can hold it to the other sources'
limits again (core/profile_cap.py) with its original timing.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from drivers.ocpp.core.profile_plan import PlannedPeriod, ProfilePlan
from gateway.foundation.model import ChargerLimit, LimitPeriod

__all__ = ["limit_from_json", "limit_from_plan", "limit_to_json", "plan_from_json"]


def _dt(epoch_s: float | None) -> datetime | None:
    return None if epoch_s is None else datetime.fromtimestamp(epoch_s, UTC)


def _epoch(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def limit_from_plan(plan: ProfilePlan, source: str, expires_at: float | None) -> ChargerLimit:
    periods = tuple(LimitPeriod(p.offset_s, p.power_w, p.current_a, p.phases) for p in plan.periods)
    first = plan.periods[0]
    return ChargerLimit(
        evse=plan.evse,
        power_w=first.power_w if plan.single else None,
        current_a=first.current_a if plan.single else None,
        expires_at=_dt(expires_at),
        source=source,
        purpose=plan.purpose,
        kind=plan.kind,
        stack_level=plan.stack_level,
        profile_id=plan.profile_id,
        valid_from=_dt(plan.valid_from_s),
        valid_to=_dt(plan.valid_to_s),
        schedule=None if plan.single else periods,
        start=None if plan.start_s is None else _dt(plan.start_s + plan.shift_s),
        recurrency=plan.recurrency,
        transaction_id=plan.transaction_id,
    )


def limit_to_json(limit: ChargerLimit, plan: ProfilePlan | None = None) -> str:
    body = asdict(limit)
    for key in ("expires_at", "valid_from", "valid_to", "start"):
        body[key] = _epoch(getattr(limit, key))
    if plan is not None:
        body["plan"] = asdict(plan)
    return json.dumps(body, separators=(",", ":"))


def plan_from_json(body: str) -> ProfilePlan | None:
    """The plan stored with an entry (None: stored without one, or unreadable)."""
    try:
        raw = json.loads(body).get("plan")
        if not isinstance(raw, dict):
            return None
        periods = tuple(PlannedPeriod(**p) for p in raw.pop("periods"))
        return ProfilePlan(periods=periods, **raw)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def limit_from_json(body: str) -> ChargerLimit:
    """A stored entry; raises ValueError (or KeyError/TypeError) on a damaged one."""
    data: dict[str, Any] = json.loads(body)
    schedule = data.get("schedule")
    return ChargerLimit(
        evse=int(data["evse"]),
        power_w=data.get("power_w"),
        current_a=data.get("current_a"),
        expires_at=_dt(data.get("expires_at")),
        source=str(data.get("source", "command")),
        purpose=data.get("purpose"),
        kind=data.get("kind"),
        stack_level=data.get("stack_level"),
        profile_id=data.get("profile_id"),
        valid_from=_dt(data.get("valid_from")),
        valid_to=_dt(data.get("valid_to")),
        schedule=None if schedule is None else tuple(LimitPeriod(**p) for p in schedule),
        start=_dt(data.get("start")),
        recurrency=data.get("recurrency"),
        transaction_id=data.get("transaction_id"),
    )
