"""A GetCompositeSchedule answer -> the `get_schedule` result, in W and in A (pure).

The charger answers in one unit (1.6 §5.7 `chargingSchedule`, 2.x K08 `schedule`); the result
gives every period in both, converted with the period's `numberPhases` (else the charger's
configured phases) and the configured nominal voltage, and says which unit the charger sent
(`charger_unit`) and which values were converted (`converted`).
"""

from __future__ import annotations

from typing import Any

from drivers.ocpp.core.profiles import ChargerRating
from gateway.foundation.model.versions import OcppVersion

__all__ = ["composite_request", "composite_result"]


def composite_request(evse: int, duration_s: int, unit: str | None, version: OcppVersion) -> dict[str, Any]:
    """The GetCompositeSchedule request payload."""
    payload: dict[str, Any] = {"duration": duration_s}
    payload["connectorId" if version == OcppVersion.V16 else "evseId"] = evse
    if unit is not None:
        payload["chargingRateUnit"] = unit
    return payload


def _number(raw: Any) -> float | None:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return value if value == value and abs(value) != float("inf") else None


def _period(raw: Any, unit: str, rating: ChargerRating) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        return None
    offset = _number(raw.get("startPeriod"))
    limit = _number(raw.get("limit"))
    setpoint = _number(raw.get("setpoint"))
    if offset is None or (limit is None and setpoint is None):
        return None
    phases = raw.get("numberPhases")
    phases = phases if isinstance(phases, int) and 1 <= phases <= 3 else rating.phases
    watts_per_amp = phases * rating.voltage_v

    def both(value: float) -> tuple[float, float]:
        if unit == "A":
            return round(value * watts_per_amp, 1), round(value, 3)
        return round(value, 1), round(value / watts_per_amp, 3)

    out: dict[str, Any] = {"offset_s": int(offset), "phases": phases}
    if limit is not None:
        out["power_w"], out["current_a"] = both(limit)
    if setpoint is not None:
        out["setpoint_w"], out["setpoint_a"] = both(setpoint)
    discharge = _number(raw.get("dischargeLimit"))
    if discharge is not None:
        out["discharge_limit_w"], out["discharge_limit_a"] = both(discharge)
    if isinstance(raw.get("operationMode"), str):
        out["operation_mode"] = raw["operationMode"]
    return out


def composite_result(answer: Any, version: OcppVersion, rating: ChargerRating) -> dict[str, Any]:
    """The result's detail from an `Accepted` answer; `periods` empty when it has none."""
    if not isinstance(answer, dict):
        return {"periods": []}
    if version == OcppVersion.V16:
        schedule = answer.get("chargingSchedule")
        start = answer.get("scheduleStart")
        evse = answer.get("connectorId")
        if isinstance(schedule, dict) and start is None:
            start = schedule.get("startSchedule")
    else:
        schedule = answer.get("schedule")
        evse = schedule.get("evseId") if isinstance(schedule, dict) else None
        start = schedule.get("scheduleStart") if isinstance(schedule, dict) else None
    if not isinstance(schedule, dict):
        return {"periods": []}
    unit = "A" if str(schedule.get("chargingRateUnit", "W")).upper() == "A" else "W"
    raw_periods = schedule.get("chargingSchedulePeriod")
    periods = [
        p
        for p in (_period(raw, unit, rating) for raw in (raw_periods or [])[:1024])
        if p is not None
    ]
    periods.sort(key=lambda p: p["offset_s"])
    detail: dict[str, Any] = {
        "charger_unit": unit,
        "converted": "current_a" if unit == "W" else "power_w",
        "periods": periods,
    }
    if isinstance(evse, int):
        detail["evse"] = evse
    if isinstance(start, str):
        detail["start"] = start
    duration = _number(schedule.get("duration"))
    if duration is not None:
        detail["duration_s"] = int(duration)
    return detail
