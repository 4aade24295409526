"""An EV's charging needs and its own schedule (2.0.1 K15-K17, 2.1 V2X) -> `EvNeeds` (pure).

NotifyEVChargingNeeds carries the EV's energy request, departure time and, on 2.1, its V2X
parameters (how much it may discharge); NotifyEVChargingSchedule the schedule the EV itself
plans. Both are summarised into one `EvNeeds` per EVSE. Discharge powers are magnitudes
(positive watts), like a battery's `max_discharge_w`.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from drivers.ocpp.core.profiles import ChargerRating
from drivers.ocpp.core.timestamps import parse_timestamp
from gateway.foundation.model import EvNeeds, LimitPeriod

__all__ = ["needs_from_message", "needs_summary", "schedule_from_message"]

_DEPARTURE_AHEAD_S = 31 * 86_400.0
"""A departure time up to a month ahead is plausible (parse_timestamp allows a day)."""


def _number(raw: Any) -> float | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if value == value and abs(value) < 1e12 else None


def _dict(raw: Any) -> dict[str, Any]:
    return raw if isinstance(raw, dict) else {}


def _first(*values: float | None) -> float | None:
    return next((v for v in values if v is not None), None)


def _above_floor_wh(min_v2x_energy_wh: float | None) -> float | None:
    """What the EV may give before the bottom of its V2X range: 2.1 `evMinV2XEnergyRequest` is
    the energy *to* that minimum, negative when the EV is above it."""
    return None if min_v2x_energy_wh is None else max(0.0, -min_v2x_energy_wh) + 0.0


def needs_from_message(message: dict[str, Any], previous: EvNeeds | None, now_s: float) -> EvNeeds:
    """NotifyEVChargingNeeds -> the EVSE's needs (the EV's schedule, if any, is kept)."""
    needs = _dict(message.get("chargingNeeds"))
    ac = _dict(needs.get("acChargingParameters"))
    dc = _dict(needs.get("dcChargingParameters"))
    v2x = _dict(needs.get("v2xChargingParameters"))
    departure = parse_timestamp(needs.get("departureTime"), now_s + _DEPARTURE_AHEAD_S)
    max_discharge = _number(v2x.get("maxDischargePower"))
    min_discharge = _number(v2x.get("minDischargePower"))
    mode = needs.get("requestedEnergyTransfer")
    return EvNeeds(
        energy_wh=_first(
            _number(ac.get("energyAmount")),
            _number(dc.get("energyAmount")),
            _number(v2x.get("evTargetEnergyRequest")),
        ),
        departure_time=departure,
        transfer_mode=mode if isinstance(mode, str) else None,
        max_charge_power_w=_first(
            _number(v2x.get("maxChargePower")), _number(dc.get("evMaxPower"))
        ),
        max_discharge_power_w=None if max_discharge is None else abs(max_discharge),
        min_discharge_power_w=None if min_discharge is None else abs(min_discharge),
        discharge_energy_wh=_above_floor_wh(_number(v2x.get("evMinV2XEnergyRequest"))),
        target_soc_pct=_first(_number(v2x.get("targetSoC")), _number(dc.get("fullSoC"))),
        ev_schedule=None if previous is None else previous.ev_schedule,
        ev_schedule_start=None if previous is None else previous.ev_schedule_start,
        updated_at=datetime.fromtimestamp(now_s, UTC),
    )


def schedule_from_message(
    message: dict[str, Any], previous: EvNeeds | None, rating: ChargerRating, now_s: float
) -> EvNeeds:
    """NotifyEVChargingSchedule -> the EVSE's needs with the EV's schedule in W and A."""
    schedule = _dict(message.get("chargingSchedule"))
    unit = "A" if str(schedule.get("chargingRateUnit", "W")).upper() == "A" else "W"
    periods: list[LimitPeriod] = []
    raw_periods = schedule.get("chargingSchedulePeriod")
    for raw in raw_periods[:1024] if isinstance(raw_periods, list) else []:
        raw = _dict(raw)
        offset, limit = _number(raw.get("startPeriod")), _number(raw.get("limit"))
        if offset is None or limit is None:
            continue
        phases = raw.get("numberPhases")
        phases = phases if isinstance(phases, int) and 1 <= phases <= 3 else rating.phases
        watts_per_amp = phases * rating.voltage_v
        power = limit * watts_per_amp if unit == "A" else limit
        periods.append(
            LimitPeriod(int(offset), round(power, 1), round(power / watts_per_amp, 3), phases)
        )
    periods.sort(key=lambda p: p.offset_s)
    base = previous or EvNeeds()
    return dataclasses.replace(
        base,
        ev_schedule=tuple(periods),
        ev_schedule_start=parse_timestamp(message.get("timeBase"), now_s + _DEPARTURE_AHEAD_S),
        updated_at=datetime.fromtimestamp(now_s, UTC),
    )


def needs_summary(needs: EvNeeds) -> dict[str, Any]:
    """The needs as JSON values for an event's data (fields that are None left out)."""

    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.strftime("%Y-%m-%dT%H:%M:%SZ")
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items() if v is not None}
        return value

    return dict(plain(dataclasses.asdict(needs)))
