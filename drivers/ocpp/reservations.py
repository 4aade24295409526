"""`reserve` / `cancel_reservation`: ReserveNow and CancelReservation (1.6 §5.13 / §5.4,
2.0.1 H01 / H02), and the reservations in force in `state.reservations`.

A reservation ends when it expires (the gateway drops it at `expires_at`), when it is
cancelled, when the charger reports its end (2.x ReservationStatusUpdate) or when its tag
starts a transaction with it (1.6 StartTransaction / 2.x TransactionEvent `reservationId`).
Each end is published as event `reservation_status` {reservation_id, status, evse}.
Reservations are kept in memory: after a gateway restart the charger still holds them, the
state no longer shows them.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

from drivers.ocpp.calls import call_charger, judge, online_session
from drivers.ocpp.hub import Hub
from drivers.ocpp.session import ChargerSession
from gateway.foundation.clock import format_ts
from gateway.foundation.commands.management import (
    CancelReservationCommand,
    ReserveCommand,
    utc_text,
)
from gateway.foundation.commands.router import CommandRouter
from gateway.foundation.errors import InvalidCommand
from gateway.foundation.model import (
    ChargerEvent,
    ChargerId,
    CommandRequest,
    CommandResult,
    DeviceKind,
)
from gateway.foundation.model.versions import OcppVersion

__all__ = ["ReservationCommands", "reservation_ended", "reserve_payload"]

_IDS = itertools.count(int(time.time()) % 1_000_000)


def reserve_payload(version: OcppVersion, reservation_id: int, args: ReserveCommand) -> dict[str, Any]:
    if version == OcppVersion.V16:
        payload: dict[str, Any] = {
            "connectorId": args.evse or 0,
            "expiryDate": utc_text(args.expires_at),
            "idTag": args.id_tag,
            "reservationId": reservation_id,
        }
        if args.group is not None:
            payload["parentIdTag"] = args.group
        return payload
    payload = {
        "id": reservation_id,
        "expiryDateTime": utc_text(args.expires_at),
        "idToken": {"idToken": args.id_tag, "type": args.token_type},
    }
    if args.evse:
        payload["evseId"] = args.evse
    if args.group is not None:
        payload["groupIdToken"] = {"idToken": args.group, "type": "Local"}
    return payload


def reservation_ended(hub: Hub, charger_id: str, reservation_id: Any, status: str) -> None:
    """Drop a reservation from the state and publish why it ended."""
    book = hub.book(charger_id)
    held = book.reservations.pop(reservation_id, None) if isinstance(reservation_id, int) else None
    data: dict[str, Any] = {"reservation_id": reservation_id, "status": status}
    if held is not None:
        data["evse"] = held["evse"]
    hub.recorder.record(ChargerEvent(ChargerId(charger_id), "reservation_status", data))
    if held is not None:
        hub.publish_state(charger_id)


async def reservation_status_update(s: ChargerSession, p: dict[str, Any]) -> dict[str, Any]:
    """2.x H: the charger ended a reservation (Expired, Removed, 2.1 NoTransaction)."""
    reservation_ended(s.hub, s.charger_id, p["reservationId"], p["reservationUpdateStatus"])
    return {}


class ReservationCommands:
    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self._timers: dict[tuple[str, int], asyncio.TimerHandle] = {}

    def register(self, router: CommandRouter) -> None:
        router.register(DeviceKind.CHARGER, "reserve", self.reserve)
        router.register(DeviceKind.CHARGER, "cancel_reservation", self.cancel)

    async def reserve(self, request: CommandRequest, args: ReserveCommand) -> CommandResult:
        now = self._hub.clock.time()
        if args.expires_at.timestamp() <= now:
            raise InvalidCommand("expires_at is in the past")
        reservation_id = next(_IDS)
        session = online_session(self._hub, request.device_id)
        payload = reserve_payload(session.version, reservation_id, args)
        answer = await call_charger(self._hub, session, "ReserveNow", payload)
        result = judge("ReserveNow", answer, reservation_id=reservation_id)
        charger_id = request.device_id
        expires = args.expires_at.timestamp()
        self._hub.book(charger_id).reservations[reservation_id] = {
            "reservation_id": reservation_id,
            "evse": args.evse or 0,
            "id_tag": args.id_tag,
            "expires_at": format_ts(expires),
        }
        loop = asyncio.get_running_loop()
        self._timers[(charger_id, reservation_id)] = loop.call_later(
            max(0.0, expires - now), self._expired, charger_id, reservation_id
        )
        session.log.info("reserved", reservation_id=reservation_id, evse=args.evse or 0)
        await self._hub.publish_state(charger_id)
        return result

    def _expired(self, charger_id: str, reservation_id: int) -> None:
        self._timers.pop((charger_id, reservation_id), None)
        if reservation_id in self._hub.book(charger_id).reservations:
            reservation_ended(self._hub, charger_id, reservation_id, "Expired")

    async def cancel(
        self, request: CommandRequest, args: CancelReservationCommand
    ) -> CommandResult:
        session = online_session(self._hub, request.device_id)
        answer = await call_charger(
            self._hub, session, "CancelReservation", {"reservationId": args.reservation_id}
        )
        result = judge("CancelReservation", answer, reservation_id=args.reservation_id)
        if result.status.value == "accepted":
            timer = self._timers.pop((request.device_id, args.reservation_id), None)
            if timer is not None:
                timer.cancel()
            reservation_ended(self._hub, request.device_id, args.reservation_id, "Cancelled")
        return result
