"""Reservations as a charger keeps them (1.6 §5.13 ReserveNow / §5.4 CancelReservation,
2.0.1 H01-H04): an EVSE held for one id tag (or its group) until it expires, is cancelled,
or that tag starts a transaction there. The EVSE shows `Reserved` meanwhile and refuses
other tags. A 2.x charger reports the end of an unused reservation with
ReservationStatusUpdate (Expired / Removed)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from simulators.charger.evse import Evse, EvseStatus
from simulators.charger.station_view import Station
from simulators.charger.txqueue import QueuedMessage

__all__ = ["Reservation", "Reservations"]


@dataclass
class Reservation:
    id: int
    evse: int
    id_tag: str
    group: str | None
    expires_at: float
    timer: asyncio.Task[None] | None = None


class Reservations:
    def __init__(self, station: Station) -> None:
        self._station = station
        self.active: dict[int, Reservation] = {}

    def _free(self, unit: Evse) -> str | None:
        """Why `unit` cannot be reserved now (the ReserveNow status), or None."""
        if unit.status is EvseStatus.FAULTED:
            return "Faulted"
        if not unit.operative:
            return "Unavailable"
        if unit.session is not None or unit.plugged or unit.reserved:
            return "Occupied"
        return None

    def reserve(
        self, reservation_id: int, evse_id: int, id_tag: str, group: str | None, expires_at: float
    ) -> str:
        station = self._station
        if station.config.ocpp_version.value == "1.6":
            if evse_id == 0 and not station.settings.flag("ReserveConnectorZeroSupported", ""):
                return "Rejected"
        elif not station.settings.flag("", "ReservationCtrlr"):
            return "Rejected"
        old = self.active.pop(reservation_id, None)  # the same id replaces it (1.6 §5.13)
        if old is not None:
            self._release(old)
        if evse_id == 0:
            free = [u for u in station.evses.values() if self._free(u) is None]
            if not free:
                return "Occupied"
            unit = free[0]
        else:
            found = station.evses.get(evse_id)
            if found is None:
                return "Rejected"
            problem = self._free(found)
            if problem is not None:
                return problem
            unit = found
        reservation = Reservation(reservation_id, unit.id, id_tag, group, expires_at)
        self.active[reservation_id] = reservation
        unit.reserved = True
        reservation.timer = station.spawn(self._expire(reservation), "reservation-expiry")
        station.log.info("reserved", evse=unit.id, reservation_id=reservation_id)
        station.refresh_power()
        return "Accepted"

    async def _expire(self, reservation: Reservation) -> None:
        wait_s = reservation.expires_at - self._station.clock.now()
        if wait_s > 0:
            await self._station.clock.sleep(wait_s)
        if self.active.pop(reservation.id, None) is not None:
            self._release(reservation)
            self._report(reservation.id, "Expired")

    def cancel(self, reservation_id: int) -> bool:
        reservation = self.active.pop(reservation_id, None)
        if reservation is None:
            return False
        if reservation.timer is not None:
            reservation.timer.cancel()
        self._release(reservation)
        return True

    def _release(self, reservation: Reservation) -> None:
        unit = self._station.evses.get(reservation.evse)
        if unit is not None:
            unit.reserved = False
        self._station.refresh_power()

    def _report(self, reservation_id: int, status: str) -> None:
        station = self._station
        if station.config.ocpp_version.value == "1.6":
            return  # 1.6 has no reservation status message
        payload = {"reservationId": reservation_id, "reservationUpdateStatus": status}
        station.queue.put(QueuedMessage("ReservationStatusUpdate", lambda: payload))

    def claim(self, evse_id: int, id_tag: str) -> tuple[bool, int | None]:
        """May `id_tag` start on `evse_id`? (allowed, reservation id used up)."""
        for reservation in self.active.values():
            if reservation.evse != evse_id:
                continue
            if reservation.id_tag.casefold() != id_tag.casefold():
                return False, None
            self.cancel(reservation.id)
            return True, reservation.id
        return True, None
