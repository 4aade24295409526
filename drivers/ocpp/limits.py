"""The `limit` command: charging profiles with TTL leases, kept across gateway restarts.

The profile itself is built by core/profiles.py (choices documented there and in
docs/ocpp.md). A limit with `ttl_s` holds a lease; when it lapses (TTL passed, or MQTT lost)
the gateway clears the profile and says why in the charger's state. Limits in force are
stored, so a restarted gateway still shows them and still withdraws them on time.
"""

from __future__ import annotations

from datetime import UTC, datetime

import structlog

from drivers.ocpp.calls import Refusal, call_charger, judge, online_session
from drivers.ocpp.core.profiles import clear_profile, plan_limit, set_profile
from drivers.ocpp.hub import Hub
from drivers.ocpp.session import Session
from drivers.ocpp.transactions import StoredLimit
from gateway.foundation.commands.schemas import LimitCommand
from gateway.foundation.model import ChargerLimit, CommandRequest, CommandResult

__all__ = ["LimitCommands"]

log = structlog.get_logger("drivers.ocpp.limits")


class LimitCommands:
    def __init__(self, hub: Hub) -> None:
        self._hub = hub

    async def limit(self, request: CommandRequest, args: LimitCommand) -> CommandResult:
        charger_id = request.device_id
        try:
            session = online_session(self._hub, charger_id)
        except Refusal as refusal:
            return refusal.result
        evse = args.evse or 0
        if args.clears:
            return await self._clear(session, evse, reason=None)
        plan = plan_limit(
            args.power_w, args.current_a, evse, self._hub.rating(charger_id), session.version
        )
        if isinstance(plan, str):
            return CommandResult.rejected(plan)
        phases = self._hub.charger_config(charger_id).phases
        payload = set_profile(plan, phases, session.version, self._hub.clock.time(), args.ttl_s)
        try:
            answer = await call_charger(self._hub, session, "SetChargingProfile", payload)
        except Refusal as refusal:
            return refusal.result
        detail = {
            "applied_power_w": plan.power_w,
            "applied_current_a": plan.current_a,
            "rate_unit": plan.unit,
            "clamped": plan.clamped,
        }
        result = judge("SetChargingProfile", answer, **detail)
        if result.status.value != "accepted":
            return result
        expires_at = self._hold(charger_id, evse, args.ttl_s)
        limit = StoredLimit(charger_id, evse, plan.power_w, plan.current_a, expires_at)
        self._show(limit)
        await self._hub.store.save_limit(charger_id, evse, limit)
        return result

    def _hold(self, charger_id: str, evse: int, ttl_s: float | None) -> float | None:
        """Grant the lease that withdraws the limit when its TTL passes; its wall-clock end."""

        async def on_lapse(reason: str) -> None:
            await self._lapse(charger_id, evse, reason)

        lease = self._hub.leases.grant(("ocpp-limit", charger_id, evse), ttl_s, on_lapse)
        return lease.expires_at

    def _show(self, limit: StoredLimit) -> None:
        expires = (
            None if limit.expires_at is None else datetime.fromtimestamp(limit.expires_at, UTC)
        )
        book = self._hub.book(limit.charger_id)
        book.limits[limit.evse] = ChargerLimit(
            limit.evse, limit.power_w, limit.current_a, expires, "command"
        )
        self._hub.publish_state(limit.charger_id)

    async def restore_limits(self) -> None:
        """After a restart: limits in force are shown again, TTLs keep running."""
        now = self._hub.clock.time()
        for limit in self._hub.store.stored_limits:
            if limit.expires_at is None:
                self._hold(limit.charger_id, limit.evse, None)
            elif limit.expires_at > now:
                self._hold(limit.charger_id, limit.evse, limit.expires_at - now)
            else:
                # Lapsed while the gateway was down; the schedule's `duration` ended it on the
                # charger, so only the record goes.
                await self._hub.store.save_limit(limit.charger_id, limit.evse, None)
                continue
            self._show(limit)

    async def _clear(self, session: Session, evse: int, reason: str | None) -> CommandResult:
        charger_id = session.charger_id
        try:
            answer = await call_charger(
                self._hub, session, "ClearChargingProfile", clear_profile(evse, session.version)
            )
        except Refusal as refusal:
            return refusal.result
        status = answer.get("status") if isinstance(answer, dict) else None
        # `Unknown`: the charger had no such profile any more, which is what was asked for.
        if status not in ("Accepted", "Unknown"):
            return judge("ClearChargingProfile", answer)
        await self._forget(charger_id, evse, reason)
        return CommandResult.accepted(charger_status=status)

    async def _forget(self, charger_id: str, evse: int, reason: str | None) -> None:
        self._hub.leases.release(("ocpp-limit", charger_id, evse))
        self._hub.book(charger_id).limits.pop(evse, None)
        self._hub.publish_state(charger_id, reason)
        await self._hub.store.save_limit(charger_id, evse, None)

    async def _lapse(self, charger_id: str, evse: int, reason: str) -> None:
        """A TTL'd limit was not renewed (or MQTT was lost): withdraw it from the charger."""
        log.info("limit_lapsed", charger_id=charger_id, evse=evse, reason=reason)
        session = self._hub.sessions.get(charger_id)
        if session is not None and not session.closed.is_set():
            result = await self._clear(session, evse, reason)
            if result.status.value == "accepted":
                return
            log.warning("limit_clear_failed", charger_id=charger_id, reason=result.reason)
        await self._forget(charger_id, evse, reason)
