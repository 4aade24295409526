"""Charging profiles as plain values: parsed from OCPP JSON and kept in a store.

One model serves 1.6 (OCPP 1.6 §3.13, §7.7) and 2.x (OCPP 2.0.1 K01, 2.1 K01/Q): 1.6's
ChargePointMaxProfile is the 2.x ChargingStationMaxProfile, and a 1.6 connector id is an EVSE id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from simulators.charger.simclock import parse_timestamp

__all__ = [
    "ChargingProfile",
    "Period",
    "ProfileStore",
    "Purpose",
    "Schedule",
    "parse_profile",
]


class Purpose(StrEnum):
    STATION_MAX = "ChargingStationMaxProfile"
    TX_DEFAULT = "TxDefaultProfile"
    TX = "TxProfile"
    OTHER = "Other"  # 2.1 external constraints, priority charging ...: stored, not evaluated

    @classmethod
    def from_ocpp(cls, name: str) -> Purpose:
        if name == "ChargePointMaxProfile":
            return cls.STATION_MAX
        try:
            return cls(name)
        except ValueError:
            return cls.OTHER


@dataclass(frozen=True)
class Period:
    """One ChargingSchedulePeriod; limits in the schedule's rate unit."""

    start_s: int
    limit: float | None
    number_phases: int | None = None
    setpoint: float | None = None  # 2.1: negative discharges
    discharge_limit: float | None = None  # 2.1: zero or negative
    operation_mode: str | None = None  # 2.1


@dataclass(frozen=True)
class Schedule:
    rate_unit: str  # "W" or "A"
    periods: tuple[Period, ...]
    start: float | None = None  # epoch seconds (startSchedule)
    duration_s: float | None = None


@dataclass(frozen=True)
class ChargingProfile:
    id: int
    stack_level: int
    purpose: Purpose
    kind: str  # Absolute | Recurring | Relative
    schedule: Schedule
    evse: int = 0  # 0: the whole station
    recurrency: str | None = None  # Daily | Weekly
    valid_from: float | None = None
    valid_to: float | None = None
    transaction_id: str | None = None
    received_at: float = 0.0


def _opt_float(raw: Mapping[str, Any], key: str) -> float | None:
    value = raw.get(key)
    return None if value is None else float(value)


def _opt_time(raw: Mapping[str, Any], key: str) -> float | None:
    value = raw.get(key)
    return None if value is None else parse_timestamp(str(value))


def _parse_schedule(raw: Mapping[str, Any]) -> Schedule:
    periods = tuple(
        Period(
            start_s=int(p["startPeriod"]),
            limit=_opt_float(p, "limit"),
            number_phases=None if p.get("numberPhases") is None else int(p["numberPhases"]),
            setpoint=_opt_float(p, "setpoint"),
            discharge_limit=_opt_float(p, "dischargeLimit"),
            operation_mode=p.get("operationMode"),
        )
        for p in raw.get("chargingSchedulePeriod", [])
    )
    return Schedule(
        rate_unit=str(raw.get("chargingRateUnit", "W")).upper(),
        periods=tuple(sorted(periods, key=lambda p: p.start_s)),
        start=_opt_time(raw, "startSchedule"),
        duration_s=_opt_float(raw, "duration"),
    )


def parse_profile(raw: Mapping[str, Any], evse: int, received_at: float) -> ChargingProfile:
    """A profile from 1.6 `csChargingProfiles` or 2.x `chargingProfile` JSON (camelCase).

    2.x allows up to three schedules per profile (one per rate unit); the first is used.
    """
    schedules = raw.get("chargingSchedule")
    schedule = schedules[0] if isinstance(schedules, list) else schedules
    if not isinstance(schedule, Mapping):
        raise ValueError("chargingSchedule missing")
    tx = raw.get("transactionId")
    return ChargingProfile(
        id=int(raw.get("chargingProfileId", raw.get("id", 0))),
        stack_level=int(raw.get("stackLevel", 0)),
        purpose=Purpose.from_ocpp(str(raw.get("chargingProfilePurpose", ""))),
        kind=str(raw.get("chargingProfileKind", "Absolute")),
        recurrency=raw.get("recurrencyKind"),
        valid_from=_opt_time(raw, "validFrom"),
        valid_to=_opt_time(raw, "validTo"),
        transaction_id=None if tx is None else str(tx),
        schedule=_parse_schedule(schedule),
        evse=evse,
        received_at=received_at,
    )


@dataclass
class ProfileStore:
    """The profiles installed on one charge point."""

    profiles: list[ChargingProfile] = field(default_factory=list)

    def install(self, profile: ChargingProfile) -> None:
        """Add, replacing one with the same id or the same purpose, stack level and EVSE.

        OCPP 1.6 §3.13.2 / 2.0.1 K01.FR.05: the new profile replaces the old one.
        """
        self.profiles = [
            p
            for p in self.profiles
            if p.id != profile.id
            and not (
                p.purpose == profile.purpose
                and p.stack_level == profile.stack_level
                and p.evse == profile.evse
            )
        ]
        self.profiles.append(profile)

    def clear(
        self,
        *,
        profile_id: int | None = None,
        evse: int | None = None,
        purpose: Purpose | None = None,
        stack_level: int | None = None,
    ) -> int:
        """Remove what matches every given criterion (an id alone matches by id); count them."""

        def matches(p: ChargingProfile) -> bool:
            if profile_id is not None:
                return p.id == profile_id
            return (
                (evse is None or p.evse == evse)
                and (purpose is None or p.purpose == purpose)
                and (stack_level is None or p.stack_level == stack_level)
            )

        kept = [p for p in self.profiles if not matches(p)]
        removed = len(self.profiles) - len(kept)
        self.profiles = kept
        return removed

    def end_transaction(self, evse: int) -> None:
        """TxProfiles live only as long as their transaction (1.6 §3.13.2, K01.FR.22)."""
        self.profiles = [
            p for p in self.profiles if not (p.purpose == Purpose.TX and p.evse == evse)
        ]
