"""Keep the site inside its limits: a pure planner, run every controller tick.

From the grid reading and each device's own measurement the planner estimates the load it
does not control (base load), then plans the controlled devices from scratch against the
target (the import limit less the margin, or the control centre's power target):

1. Chargers that are charging (or paused by the controller with an EV waiting) want their
   maximum; one that leaves part of its share unused wants what it draws plus a little.
2. Batteries in `auto` cover the difference: they discharge when the chargers' demand would
   pass the target (no EV is slowed while stored energy covers the peak) or a phase would
   pass its fuse current, and charge from what is left below the target.
3. With V2G allowed, EVs able to give power are turned down and then discharge, after the
   batteries and before any other charger is curtailed.
4. The rest is shared among the chargers (see allocation.py): minimum current or paused, by
   priority, equal current, per phase.

Batteries are credited only with what they deliver (the larger of setpoint and measured
power), so chargers get power back as the battery takes over, not before. An idle charger is
left unlimited only while a start at its full power fits; otherwise it is held to what is left
(at least its minimum), so an EV arriving between two ticks does not push the site over. Shares change only
by more than the hysteresis, raises at most every `min_change_interval_s` per charger; a
charger is lowered at once whenever the plan would otherwise leave the site over a limit.
Without the grid reading the fail-safe applies (`failsafe_plan`).
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.site.allocation import allocate
from gateway.site.inputs import (
    GRID_PHASES,
    ChargerInput,
    Decision,
    SiteInputs,
    SitePlan,
    StorageInput,
)

__all__ = ["ChargerInput", "SiteInputs", "SitePlan", "StorageInput", "failsafe_plan", "plan"]

ACTIVE_W = 100.0
"""A charger drawing less than this is not charging (idle, full EV, or paused at 0)."""

_INF = float("inf")


def target_w(inputs: SiteInputs) -> float | None:
    """The import to aim at: the limit less the margin, or the power target within it."""
    target = None if inputs.import_limit_w is None else inputs.import_limit_w - inputs.margin_w
    if inputs.target_w is not None:
        target = inputs.target_w if target is None else min(target, inputs.target_w)
    if target is not None and inputs.export_limit_w is not None:
        floor = -inputs.export_limit_w + inputs.margin_w
        if inputs.import_limit_w is None or floor <= inputs.import_limit_w - inputs.margin_w:
            target = max(target, floor)
    return target


def is_active(c: ChargerInput) -> bool:
    return abs(c.power_w) >= ACTIVE_W or (c.plugged and c.share_w == 0)


def demand_w(c: ChargerInput, hysteresis_w: float) -> float:
    """What a charger would draw if let: its maximum, unless it leaves its share unused."""
    if c.share_w is None or c.share_w <= 0 or c.power_w < 0:
        return c.max_power_w
    if c.power_w >= c.share_w - max(hysteresis_w, 0.1 * c.share_w):
        return c.max_power_w
    return min(c.max_power_w, max(c.min_power_w, c.power_w + 2 * hysteresis_w))


def plan(inputs: SiteInputs) -> SitePlan:
    if inputs.grid_power_w is None:
        return failsafe_plan(inputs)
    target = target_w(inputs)
    phase_limited = inputs.import_limit_a is not None and inputs.grid_current_a is not None
    if target is None and not phase_limited:
        return SitePlan()
    active = [c for c in inputs.chargers if is_active(c)]
    demand = {c.charger_id: demand_w(c, inputs.hysteresis_w) for c in active}
    base_w = (
        inputs.grid_power_w
        - sum(c.power_w for c in inputs.chargers)
        - sum(s.power_w for s in inputs.storage)
    )
    room_a = _phase_room_a(inputs) if phase_limited else None
    flex_w = _INF if target is None else target - base_w

    # 1. Batteries: cover what the chargers' demand would put over a limit, or charge.
    short_w = sum(demand.values()) - flex_w
    over_a = -_INF
    if room_a is not None:
        over_a = max(
            sum(c.current_a(demand[c.charger_id]) for c in active if p in c.phases) - room_a[p]
            for p in GRID_PHASES
        )
    volts = inputs.storage[0].voltage_v if inputs.storage else 230.0
    wanted = min(-short_w, -3 * volts * over_a)
    if target is None:
        wanted = min(0.0, wanted)
    setpoints = _spread_storage(inputs.storage, wanted)
    credit = {s.device_id: _credit_w(s, setpoints[s.device_id]) for s in inputs.storage}
    budget_w = flex_w - sum(credit.values())
    if room_a is not None:
        for p in GRID_PHASES:
            room_a[p] -= sum(credit[s.device_id] / (3 * s.voltage_v) for s in inputs.storage)

    # 2. V2G, after the batteries, before curtailing anyone else.
    shares: dict[str, float | None] = {}
    reasons: dict[str, str] = {}
    short_w = sum(demand.values()) - budget_w
    givers = [c for c in active if c.v2g_w > 0]
    if short_w > inputs.hysteresis_w and givers:
        room = {c.charger_id: demand[c.charger_id] + c.v2g_w for c in givers}
        cut = min(short_w, sum(room.values()))
        for c in givers:
            share = float(
                round(demand[c.charger_id] - cut * room[c.charger_id] / sum(room.values()))
            )
            shares[c.charger_id] = share
            reasons[c.charger_id] = "v2g_discharge" if share < 0 else "v2g_turned_down"
            budget_w -= share
            if room_a is not None:
                for p in c.phases:
                    room_a[p] -= c.current_a(share)

    # 3. Chargers share the rest; lifted when the whole demand fits.
    rest = [c for c in active if c.charger_id not in shares]
    if budget_w >= sum(c.max_power_w for c in rest) and _fits_at_max(rest, room_a):
        for c in rest:
            shares[c.charger_id] = None
            reasons[c.charger_id] = "headroom"
        budget_w -= sum(c.max_power_w for c in rest)
    else:
        allocated = allocate(
            rest,
            demand,
            budget_w,
            room_a,
            turn_s=inputs.turn_s,
            resume_margin_w=inputs.hysteresis_w,
        )
        for c in rest:
            share = float(allocated[c.charger_id])
            shares[c.charger_id] = share
            reasons[c.charger_id] = _why(c, share, demand[c.charger_id], room_a)
            budget_w -= share
    for c in inputs.chargers:  # idle: lifted when a full start fits, else held for a start
        if c.charger_id not in shares:
            shares[c.charger_id], reasons[c.charger_id] = _idle_share(c, budget_w)

    changes = _charger_changes(inputs, shares, force=False)
    if _over_after(inputs, base_w, changes, demand, credit, target):
        changes = _charger_changes(inputs, shares, force=True)
    storage_changes = {
        s.device_id: setpoints[s.device_id]
        for s in inputs.storage
        if abs(setpoints[s.device_id] - s.setpoint_w) >= inputs.hysteresis_w
        or (setpoints[s.device_id] == 0 and s.setpoint_w != 0)
    }
    decisions = [Decision(cid, w, reasons[cid]) for cid, w in changes.items()]
    decisions += [
        Decision(
            sid, w, "battery_discharge" if w < 0 else "battery_charge" if w > 0 else "battery_idle"
        )
        for sid, w in storage_changes.items()
    ]
    return SitePlan(changes, storage_changes, target, tuple(decisions))


def _idle_share(c: ChargerInput, budget_w: float) -> tuple[float | None, str]:
    """An idle charger's share: none when a start at full power fits what is left; else what is
    left (at least its minimum), so an EV that arrives between two ticks cannot push the site
    over its limit by more than that (the next tick plans it like any other)."""
    if budget_w >= c.max_power_w:
        return None, "idle"
    held = float(round(max(c.min_power_w, budget_w)))
    if c.share_w is not None and c.share_w <= held:
        return c.share_w, "idle"
    return held, "idle_held_for_a_start"


def failsafe_plan(inputs: SiteInputs) -> SitePlan:
    """The grid reading is missing: every charger to its part of the fail-safe power, batteries
    in `auto` to 0 W (nobody can tell what the connection carries)."""
    total = inputs.failsafe_charger_power_w
    if total is None:
        shares = {c.charger_id: c.min_power_w for c in inputs.chargers}
    else:
        everyone = [c for c in inputs.chargers]
        shares = allocate(
            everyone,
            {c.charger_id: c.max_power_w for c in everyone},
            total,
            None,
            turn_s=inputs.turn_s,
            resume_margin_w=0.0,
        )
    changes: dict[str, float | None] = {
        c.charger_id: round(shares[c.charger_id])
        for c in inputs.chargers
        if c.share_w is None or abs(c.share_w - shares[c.charger_id]) >= 1
    }
    setpoints = {s.device_id: 0.0 for s in inputs.storage if s.setpoint_w != 0 or s.power_w != 0}
    decisions = [Decision(cid, w, "grid_meter_lost") for cid, w in changes.items()]
    decisions += [Decision(sid, 0.0, "grid_meter_lost") for sid in setpoints]
    return SitePlan(changes, setpoints, None, tuple(decisions), failsafe=True)


def _phase_room_a(inputs: SiteInputs) -> dict[str, float]:
    """Current each phase may still carry for the controlled devices (base load taken off)."""
    assert inputs.import_limit_a is not None and inputs.grid_current_a is not None
    room = {}
    for p in GRID_PHASES:
        devices = sum(c.current_a(c.power_w) for c in inputs.chargers if p in c.phases)
        devices += sum(s.power_w / (3 * s.voltage_v) for s in inputs.storage)
        base = inputs.grid_current_a.get(p, 0.0) - devices
        room[p] = inputs.import_limit_a - inputs.margin_a - base
    return room


def _fits_at_max(chargers: list[ChargerInput], room_a: Mapping[str, float] | None) -> bool:
    if room_a is None:
        return True
    return all(
        sum(c.current_a(c.max_power_w) for c in chargers if p in c.phases) <= room_a[p]
        for p in GRID_PHASES
    )


def _why(c: ChargerInput, share: float, demand: float, room_a: Mapping[str, float] | None) -> str:
    if share == 0:
        return "paused_below_minimum"
    if share >= demand - 1:
        return "demand_met"
    if room_a is not None and any(room_a[p] <= c.current_a(share) + 0.01 for p in c.phases):
        return "phase_limit"
    return "curtailed_to_share"


def _credit_w(battery: StorageInput, planned_w: float) -> float:
    """What the plan may count on from a battery: its new setpoint while it follows its
    setpoints, else no more than it delivers now (a battery that does not deliver must not
    leave the site over its limit)."""
    gap = abs(battery.power_w - battery.setpoint_w)
    if gap <= max(300.0, 0.5 * abs(battery.setpoint_w)):
        return planned_w
    return max(planned_w, battery.power_w)


def _spread_storage(storage: tuple[StorageInput, ...], wanted_w: float) -> dict[str, float]:
    """Split a total battery power over the batteries in proportion to what each can do."""
    if wanted_w < 0:
        ranges = {s.device_id: -s.low_w for s in storage}
    else:
        ranges = {s.device_id: s.high_w for s in storage}
    total = sum(ranges.values())
    amount = min(abs(wanted_w), total)
    sign = -1.0 if wanted_w < 0 else 1.0
    return {
        s.device_id: float(round(sign * amount * ranges[s.device_id] / total)) if total else 0.0
        for s in storage
    }


def _charger_changes(
    inputs: SiteInputs, shares: Mapping[str, float | None], *, force: bool
) -> dict[str, float | None]:
    changes: dict[str, float | None] = {}
    for c in inputs.chargers:
        new, old = shares[c.charger_id], c.share_w
        if new == old:
            continue
        old_w = c.max_power_w if old is None else old
        new_w = c.max_power_w if new is None else new
        if new_w < old_w:
            if force or new_w == 0 or old_w - new_w >= inputs.hysteresis_w:
                changes[c.charger_id] = new
            continue
        if c.since_change_s < inputs.min_change_interval_s:
            continue
        if old == 0 or new_w - old_w >= inputs.hysteresis_w:
            changes[c.charger_id] = new
    return changes


def _over_after(
    inputs: SiteInputs,
    base_w: float,
    changes: Mapping[str, float | None],
    demand: Mapping[str, float],
    credit: Mapping[str, float],
    target: float | None,
) -> bool:
    """Would the site pass a limit (not just the target) with these changes and no others?"""
    draws: dict[str, float] = {}
    for c in inputs.chargers:
        share = changes.get(c.charger_id, c.share_w)
        cap = c.max_power_w if share is None else share
        draws[c.charger_id] = min(demand.get(c.charger_id, c.power_w), cap)
    import_w = base_w + sum(draws.values()) + sum(credit.values())
    limit = inputs.import_limit_w if inputs.import_limit_w is not None else target
    if limit is not None and import_w > limit:
        return True
    if inputs.import_limit_a is None or inputs.grid_current_a is None:
        return False
    room = _phase_room_a(inputs)
    for p in GRID_PHASES:
        used = sum(c.current_a(draws[c.charger_id]) for c in inputs.chargers if p in c.phases)
        used += sum(credit[s.device_id] / (3 * s.voltage_v) for s in inputs.storage)
        if used > room[p] + inputs.margin_a:
            return True
    return False
