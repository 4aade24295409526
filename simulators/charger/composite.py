"""The composite schedule of one EVSE (or the whole station) over a window (pure).

What GetCompositeSchedule answers (1.6 §5.7, 2.0.1 K08): the limit the installed profiles
impose from now for `duration_s`, as periods. The limit at any instant is the one the
simulator itself obeys (schedule.py: TxProfile over TxDefault, highest stack level, the station
maximum on top); it can only change where some profile's period, validity, recurrence or
duration begins or ends, so it is evaluated at exactly those instants and equal neighbours are
merged. Without any profile the EVSE's rating is the limit.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from simulators.charger.profiles import ChargingProfile, ProfileStore, Purpose
from simulators.charger.schedule import evse_limit, station_limit

__all__ = ["CompositePeriod", "composite_schedule", "next_change"]

_RECURRENCE_S = {"Daily": 86_400.0, "Weekly": 604_800.0}


@dataclass(frozen=True)
class CompositePeriod:
    offset_s: int
    limit_w: float
    setpoint_w: float | None = None


def _bases(
    profile: ChargingProfile, t0: float, t1: float, tx_start: float | None
) -> Iterator[float]:
    """The instants the profile's schedule (re)starts that matter for [t0, t1]."""
    if profile.kind == "Relative":
        yield tx_start if tx_start is not None else t0
        return
    start = profile.schedule.start
    start = profile.received_at if start is None else start
    if profile.kind != "Recurring":
        yield start
        return
    period = _RECURRENCE_S.get(profile.recurrency or "Daily", 86_400.0)
    first = start + math.floor((t0 - start) / period) * period if t0 > start else start
    base = first
    while base <= t1:
        yield base
        base += period


def _changes(profile: ChargingProfile, t0: float, t1: float, tx_start: float | None) -> set[float]:
    times = {t for t in (profile.valid_from, profile.valid_to) if t is not None}
    for base in _bases(profile, t0, t1, tx_start):
        times.update(base + p.start_s for p in profile.schedule.periods)
        if profile.schedule.duration_s is not None:
            times.add(base + profile.schedule.duration_s)
    return times


def composite_schedule(
    store: ProfileStore,
    evse: int,
    now: float,
    duration_s: float,
    *,
    transaction_id: str | None,
    tx_start: float | None,
    phases: int,
    voltage_v: float,
    rating_w: float,
) -> list[CompositePeriod]:
    """Periods from `now` (offset 0) for `duration_s`; EVSE 0: the station's grid connection."""
    t1 = now + duration_s
    relevant = [
        p
        for p in store.profiles
        if p.purpose is Purpose.STATION_MAX or (evse != 0 and p.evse in (0, evse))
    ]
    instants = {now}
    for profile in relevant:
        instants.update(t for t in _changes(profile, now, t1, tx_start) if now < t < t1)
    periods: list[CompositePeriod] = []
    for t in sorted(instants):
        cap = station_limit(store, t, phases=phases, voltage_v=voltage_v)
        limit = rating_w if cap is None else min(cap, rating_w)
        setpoint = None
        if evse != 0:
            own = evse_limit(
                store,
                evse,
                t,
                transaction_id=transaction_id,
                tx_start=tx_start,
                phases=phases,
                voltage_v=voltage_v,
            )
            if own.charge_w is not None:
                limit = min(limit, own.charge_w)
            setpoint = own.setpoint_w
        offset = int(t - now)
        if periods and periods[-1].limit_w == limit and periods[-1].setpoint_w == setpoint:
            continue
        if periods and periods[-1].offset_s == offset:
            periods[-1] = CompositePeriod(offset, limit, setpoint)
            continue
        periods.append(CompositePeriod(offset, limit, setpoint))
    return periods


def next_change(
    store: ProfileStore, now: float, tx_starts: dict[int, float], horizon_s: float = 86_400.0
) -> float | None:
    """The next instant after `now` (within `horizon_s`) at which some profile's limit may
    change: the moment a charger re-evaluates what its EVSEs may draw."""
    later: list[float] = []
    for profile in store.profiles:
        tx_start = tx_starts.get(profile.evse)
        changes = _changes(profile, now, now + horizon_s, tx_start)
        later.extend(t for t in changes if now < t <= now + horizon_s)
    return min(later) if later else None
