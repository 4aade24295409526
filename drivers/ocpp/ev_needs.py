"""NotifyEVChargingNeeds / NotifyEVChargingSchedule from a 2.x charger (ISO 15118, V2X).

Both are accepted, kept per EVSE in `state.ev_needs` and published as charger events
(`ev_charging_needs`, `ev_charging_schedule`) with the summary and the message as sent. The
gateway does not plan a schedule itself: a control centre that wants to act on the needs
sends a `limit` (for example `purpose: tx`).
"""

from __future__ import annotations

from typing import Any

from drivers.ocpp.core.ev_needs import needs_from_message, needs_summary, schedule_from_message
from drivers.ocpp.session import ChargerSession
from gateway.foundation.model import ChargerEvent, ChargerId, EvNeeds

__all__ = ["notify_ev_charging_needs", "notify_ev_charging_schedule"]


def _publish(s: ChargerSession, name: str, evse: int, needs: EvNeeds, message: dict[str, Any]) -> None:
    book = s.hub.book(s.charger_id)
    book.ev_needs[evse] = needs
    s.log.info("charger_event", kind=name, evse=evse)
    data = {"evse": evse, **needs_summary(needs), "message": message}
    s.hub.recorder.record(ChargerEvent(ChargerId(s.charger_id), name, data))
    s.publish_state()


async def notify_ev_charging_needs(s: ChargerSession, p: dict[str, Any]) -> dict[str, Any]:
    evse = int(p["evseId"])
    previous = s.hub.book(s.charger_id).ev_needs.get(evse)
    _publish(s, "ev_charging_needs", evse, needs_from_message(p, previous, s.now_s()), p)
    return {"status": "Accepted"}


async def notify_ev_charging_schedule(s: ChargerSession, p: dict[str, Any]) -> dict[str, Any]:
    evse = int(p["evseId"])
    previous = s.hub.book(s.charger_id).ev_needs.get(evse)
    rating = s.hub.rating(s.charger_id)
    needs = schedule_from_message(p, previous, rating, s.now_s())
    _publish(s, "ev_charging_schedule", evse, needs, p)
    return {"status": "Accepted"}
