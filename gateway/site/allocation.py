"""Share a charging budget among chargers: minimum first, by priority, equal current, per phase.

Every charger that gets power gets at least its minimum current (below it an EV stops or
oscillates); one that cannot is paused (share 0). Admission goes by priority, and within a
priority paused chargers that have waited `turn_s` come before running ones, so paused
chargers take turns. What is left after the minimums is filled by priority tier, at an equal
current per charger (water-filling), until a charger reaches its demand, the power budget runs
out, or a grid phase reaches its current budget (which stops only the chargers on that phase).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import groupby

from gateway.site.inputs import ChargerInput

__all__ = ["admission_order", "allocate"]

_EPS = 1e-6


def admission_order(chargers: Iterable[ChargerInput], turn_s: float) -> list[ChargerInput]:
    def key(c: ChargerInput) -> tuple[int, int, float, str]:
        if c.share_w == 0 and c.since_turn_s >= turn_s:
            return (-c.priority, 0, -c.since_turn_s, c.charger_id)  # waited long enough
        if c.share_w != 0:
            return (-c.priority, 1, c.since_turn_s, c.charger_id)  # longest running yields
        return (-c.priority, 2, -c.since_turn_s, c.charger_id)

    return sorted(chargers, key=key)


def allocate(
    chargers: Sequence[ChargerInput],
    demand_w: Mapping[str, float],
    budget_w: float,
    phase_budget_a: Mapping[str, float] | None,
    *,
    turn_s: float,
    resume_margin_w: float,
) -> dict[str, float]:
    """Each charger's share in W (0: paused) within `budget_w` and the per-phase budgets."""
    left_w = budget_w
    left_a = dict(phase_budget_a) if phase_budget_a is not None else None
    amps: dict[str, float] = {}
    order = admission_order(chargers, turn_s)
    for c in order:
        need_w = c.min_power_w + (resume_margin_w if c.share_w == 0 else 0.0)
        need_a = c.current_a(need_w)
        fits = need_w <= left_w + _EPS and (
            left_a is None or all(left_a.get(p, 0.0) + _EPS >= need_a for p in c.phases)
        )
        if not fits:
            continue
        amps[c.charger_id] = c.current_a(c.min_power_w)
        left_w -= c.min_power_w
        if left_a is not None:
            for p in c.phases:
                left_a[p] -= amps[c.charger_id]
    admitted = [c for c in order if c.charger_id in amps]
    for _, tier in groupby(admitted, key=lambda c: -c.priority):
        left_w = _fill(list(tier), demand_w, amps, left_w, left_a)
    return {
        c.charger_id: (round(amps[c.charger_id] * c.watts_per_amp) if c.charger_id in amps else 0.0)
        for c in chargers
    }


def _fill(
    tier: list[ChargerInput],
    demand_w: Mapping[str, float],
    amps: dict[str, float],
    left_w: float,
    left_a: dict[str, float] | None,
) -> float:
    """Raise the tier's currents together until each is stopped; the power budget left."""
    cap = {c.charger_id: max(c.min_power_w, demand_w[c.charger_id]) / c.watts_per_amp for c in tier}
    rising = [c for c in tier if cap[c.charger_id] - amps[c.charger_id] > _EPS]
    while rising and left_w > _EPS:
        step = min(cap[c.charger_id] - amps[c.charger_id] for c in rising)
        step = min(step, left_w / sum(c.watts_per_amp for c in rising))
        if left_a is not None:
            for phase, room in left_a.items():
                users = sum(1 for c in rising if phase in c.phases)
                if users:
                    step = min(step, max(0.0, room) / users)
        for c in rising:
            amps[c.charger_id] += step
            left_w -= step * c.watts_per_amp
            if left_a is not None:
                for p in c.phases:
                    left_a[p] -= step
        full = {p for p, room in (left_a or {}).items() if room <= _EPS}
        rising = [
            c
            for c in rising
            if cap[c.charger_id] - amps[c.charger_id] > _EPS and not full.intersection(c.phases)
        ]
    return left_w
