"""Which limit the installed charging profiles impose at a given moment (pure).

Precedence (OCPP 1.6 §3.13.2, 2.0.1 K08): a TxProfile for the running transaction beats the
TxDefaultProfile of the EVSE, which beats the station-wide TxDefaultProfile (EVSE 0); within a
purpose the highest stack level with an active period wins; the ChargingStationMaxProfile caps
the sum over all EVSEs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from simulators.charger.profiles import ChargingProfile, Period, ProfileStore, Purpose

__all__ = ["Limit", "evse_limit", "period_at", "share_station_limit", "station_limit", "to_watts"]

_RECURRENCE_S = {"Daily": 86_400.0, "Weekly": 604_800.0}


@dataclass(frozen=True)
class Limit:
    """What the profiles ask of one EVSE now, in watts; None where they say nothing.

    A negative `charge_w` is a discharge request (2.1 backwards-compatible V2G form).
    """

    charge_w: float | None = None
    setpoint_w: float | None = None
    discharge_limit_w: float | None = None
    profile_id: int | None = None


def to_watts(value: float, unit: str, phases: int, voltage_v: float) -> float:
    """Convert a schedule value to watts; amperes are per phase (phases * U * I)."""
    return value * phases * voltage_v if unit == "A" else value


def period_at(profile: ChargingProfile, now: float, tx_start: float | None) -> Period | None:
    """The schedule period in force at `now`, or None when the profile is not active."""
    if profile.valid_from is not None and now < profile.valid_from:
        return None
    if profile.valid_to is not None and now >= profile.valid_to:
        return None
    schedule = profile.schedule
    if profile.kind == "Relative":
        start = tx_start if tx_start is not None else now
    else:
        start = schedule.start if schedule.start is not None else profile.received_at
    elapsed = now - start
    if elapsed < 0:
        return None
    if profile.kind == "Recurring":
        elapsed %= _RECURRENCE_S.get(profile.recurrency or "Daily", 86_400.0)
    if schedule.duration_s is not None and elapsed >= schedule.duration_s:
        return None
    current: Period | None = None
    for period in schedule.periods:
        if period.start_s <= elapsed:
            current = period
    return current


def _best(
    profiles: Iterable[ChargingProfile],
    now: float,
    tx_start: float | None,
    phases: int,
    voltage_v: float,
) -> Limit | None:
    for profile in sorted(profiles, key=lambda p: p.stack_level, reverse=True):
        period = period_at(profile, now, tx_start)
        if period is None:
            continue
        unit = profile.schedule.rate_unit
        used = min(phases, period.number_phases) if period.number_phases else phases

        def watts(value: float | None, unit: str = unit, used: int = used) -> float | None:
            return None if value is None else to_watts(value, unit, used, voltage_v)

        if period.operation_mode == "Idle":  # 2.1 OperationModeEnumType: no energy transfer
            return Limit(charge_w=0.0, profile_id=profile.id)
        return Limit(
            charge_w=watts(period.limit),
            setpoint_w=watts(period.setpoint),
            discharge_limit_w=watts(period.discharge_limit),
            profile_id=profile.id,
        )
    return None


def evse_limit(
    store: ProfileStore,
    evse: int,
    now: float,
    *,
    transaction_id: str | None,
    tx_start: float | None,
    phases: int,
    voltage_v: float,
) -> Limit:
    """The limit for one EVSE from Tx and TxDefault profiles (the station cap comes later)."""
    candidates: list[list[ChargingProfile]] = []
    if transaction_id is not None:
        candidates.append(
            [
                p
                for p in store.profiles
                if p.purpose == Purpose.TX
                and p.evse == evse
                and p.transaction_id in (None, transaction_id)
            ]
        )
    candidates.append(
        [p for p in store.profiles if p.purpose == Purpose.TX_DEFAULT and p.evse == evse]
    )
    candidates.append(
        [p for p in store.profiles if p.purpose == Purpose.TX_DEFAULT and p.evse == 0]
    )
    for group in candidates:
        found = _best(group, now, tx_start, phases, voltage_v)
        if found is not None:
            return found
    return Limit()


def station_limit(
    store: ProfileStore, now: float, *, phases: int, voltage_v: float
) -> float | None:
    """The ChargingStationMaxProfile (1.6: ChargePointMaxProfile) limit in watts, if any."""
    found = _best(
        (p for p in store.profiles if p.purpose == Purpose.STATION_MAX),
        now,
        None,
        phases,
        voltage_v,
    )
    return None if found is None else found.charge_w


def share_station_limit(powers: Mapping[int, float], cap_w: float | None) -> dict[int, float]:
    """Scale the charging EVSEs down proportionally so their sum stays within the cap.

    Discharging EVSEs are left alone: the station cap limits import.
    """
    result = dict(powers)
    if cap_w is None:
        return result
    charging = {evse: p for evse, p in powers.items() if p > 0}
    total = sum(charging.values())
    cap = max(cap_w, 0.0)
    if total <= cap:
        return result
    for evse, power in charging.items():
        result[evse] = power * cap / total
    return result
