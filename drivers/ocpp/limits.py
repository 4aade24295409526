"""The `limit` command: each source's limit kept apart, the lowest sent, all kept across restarts.

The control centre's cap (`command`) and the site controller's share (`controller`) are
separate entries per EVSE; with the charger's rating they combine into the one profile the
charger gets, the lowest (core/caps.py). Lifting one source's limit never lifts another's:
the profile follows the next lowest, and is cleared only when nothing limits the EVSE. The
profile itself is built by core/profile_plan.py (choices documented there and in
docs/ocpp.md). A `limit` with a purpose, kind, schedule, validity or stack level is an explicit
profile instead (profile_limits.py); it is held to the combined cap (`cap_w`) and sent again
whenever that changes, so it never lifts another source's limit either.
A limit with `ttl_s` holds a lease (granted by the router); when it lapses (TTL passed, or
MQTT lost) that source's limit is withdrawn and the state says why. Limits are stored per
source, so a restarted gateway still shows them, still withdraws them on time, and the
controller finds its shares.
"""

from __future__ import annotations

from datetime import UTC, datetime

import structlog

from drivers.ocpp.calls import call_charger, judge, online_session
from drivers.ocpp.core.caps import RATING, SourceLimit, in_force, profile_ttl_s
from drivers.ocpp.core.profile_plan import (
    PLAIN_PROFILE_ID_BASE,
    PLAIN_STACK_LEVEL,
    ProfilePlan,
    default_purpose,
    plan_profile,
    set_profile_payload,
)
from drivers.ocpp.core.profiles import clear_by_id
from drivers.ocpp.hub import Hub, SessionHandle
from drivers.ocpp.profile_limits import ProfileLimits
from drivers.ocpp.session import ChargerSession
from gateway.foundation.commands.leasing import LeaseTerms, Withdraw
from gateway.foundation.commands.schemas import LimitCommand
from gateway.foundation.errors import CommandError, CommandRejected
from gateway.foundation.model import ChargerLimit, CommandRequest, CommandResult, CommandSource

__all__ = ["LimitCommands"]

log = structlog.get_logger("drivers.ocpp.limits")


class LimitCommands:
    def __init__(self, hub: Hub, profiles: ProfileLimits) -> None:
        self._hub = hub
        self._profiles = profiles
        profiles.after_clear = self._reassert
        profiles.caps = self
        self._entries: dict[str, dict[int, dict[str, SourceLimit]]] = {}
        """Each charger's limits per EVSE and source (by charger: a change on one charger
        never walks the others')."""
        self._sent: dict[tuple[str, int], tuple[str, float] | None] = {}
        """What the charger holds per EVSE without a TTL: (unit, limit); None: cleared. A
        share that does not change is not resent (a profile with a TTL always is: renewed)."""

    def _plan(
        self, session: SessionHandle, args: LimitCommand, ttl_s: float | None = None
    ) -> ProfilePlan | str:
        """The plain limit's profile: the combined cap, id 4200 + EVSE, stack level 1."""
        evse = args.evse or 0
        plain = LimitCommand(power_w=args.power_w, current_a=args.current_a, evse=evse, ttl_s=ttl_s)
        return plan_profile(
            plain,
            version=session.version,
            rating=self._hub.rating(session.charger_id),
            now_s=self._hub.clock.time(),
            stack_level=PLAIN_STACK_LEVEL,
            own_id=PLAIN_PROFILE_ID_BASE + evse,
        )

    def cap_w(self, charger_id: str, evse: int) -> tuple[float, str] | None:
        """The sources' lowest plain limit on the EVSE, the rating included (W), and whose."""
        entries = self._entries.get(charger_id, {}).get(evse)
        if not entries:
            return None
        rating = self._hub.rating(charger_id)
        watts_per_amp = rating.phases * rating.voltage_v
        lowest = in_force(entries.values(), rating.max_power_w, watts_per_amp)
        return None if lowest is None else (lowest.watts(watts_per_amp), lowest.source)

    async def limit(
        self, request: CommandRequest, args: LimitCommand, lease: LeaseTerms
    ) -> CommandResult:
        if args.explicit:
            return await self._profiles.limit(request, args, lease)
        charger_id = request.device_id
        source = CommandSource(request.source).value  # filed per source: command, controller, ui
        session = online_session(self._hub, charger_id)
        evse = args.evse or 0
        entries = dict(self._entries.get(charger_id, {}).get(evse, {}))
        if args.clears:
            lease.end(_lease_key(charger_id, evse, source))
            if entries.pop(source, None) is None and not entries:
                # Nothing of ours to keep: clear anyway (it may predate the gateway's records).
                return await self._clear(session, evse, entries, source, reason=None)
            return await self._enforce(session, evse, entries, source, reason=None)
        plan = self._plan(session, args)
        if isinstance(plan, str):
            raise CommandRejected(plan)
        expires_at = lease.expires_at
        applied = plan.periods[0]
        # Kept in the command's unit, so the profile sent for it is in that unit too.
        watts = args.power_w is not None
        entries[source] = SourceLimit(
            charger_id,
            evse,
            applied.power_w if watts else None,
            None if watts else applied.current_a,
            expires_at,
            source,
        )
        result = await self._enforce(session, evse, entries, source, reason=None)
        lease.hold(_lease_key(charger_id, evse, source), self._withdraw(charger_id, evse, source))
        detail = {
            "applied_power_w": applied.power_w,
            "applied_current_a": applied.current_a,
            "rate_unit": plan.unit,
            "converted": plan.converted,
            "clamped": plan.clamped,
            **result.detail,
        }
        return CommandResult.accepted(**detail)

    async def _enforce(
        self,
        session: SessionHandle,
        evse: int,
        entries: dict[str, SourceLimit],
        changed: str,
        reason: str | None,
    ) -> CommandResult:
        """Send the lowest of `entries` (or clear) if it differs from what the charger has;
        on success record `entries` as the EVSE's limits."""
        charger_id = session.charger_id
        if not entries:
            return await self._clear(session, evse, entries, changed, reason)
        rating = self._hub.rating(charger_id)
        watts_per_amp = rating.phases * rating.voltage_v
        lowest = in_force(entries.values(), rating.max_power_w, watts_per_amp)
        assert lowest is not None
        power = lowest.power_w
        current = None if power is not None else lowest.current_a
        now = self._hub.clock.time()
        ttl = profile_ttl_s(entries.values(), now)
        lowest_args = LimitCommand(power_w=power, current_a=current, evse=evse)
        plan = self._plan(session, lowest_args, None if ttl is None else max(ttl, 1.0))
        if isinstance(plan, str):
            raise CommandRejected(plan)
        wanted = (plan.unit, plan.periods[0].sent)
        if ttl is not None or self._sent.get((charger_id, evse)) != wanted:
            payload = set_profile_payload(plan, session.version)
            answer = await call_charger(self._hub, session, "SetChargingProfile", payload)
            judge("SetChargingProfile", answer)  # raises DeviceRefused unless accepted
            self._sent[(charger_id, evse)] = wanted if ttl is None else None
        await self._record(charger_id, evse, entries, changed, reason)
        return CommandResult.accepted(
            in_force={"power_w": lowest.watts(watts_per_amp), "source": lowest.source}
        )

    async def _clear(
        self,
        session: SessionHandle,
        evse: int,
        entries: dict[str, SourceLimit],
        changed: str,
        reason: str | None,
    ) -> CommandResult:
        charger_id = session.charger_id
        answer = await call_charger(
            self._hub,
            session,
            "ClearChargingProfile",
            clear_by_id(PLAIN_PROFILE_ID_BASE + evse, session.version),
        )
        status = answer.get("status") if isinstance(answer, dict) else None
        # `Unknown`: the charger had no such profile any more, which is what was asked for.
        if status not in ("Accepted", "Unknown"):
            return judge("ClearChargingProfile", answer)
        self._sent[(charger_id, evse)] = None
        await self._record(charger_id, evse, entries, changed, reason)
        return CommandResult.accepted(charger_status=status)

    async def _reassert(self, session: ChargerSession, args: LimitCommand) -> None:
        """A clear by criteria matching the plain caps' profile (its purpose, EVSE, level 1)
        removed it on the charger too: send the lowest cap again (lifting a profile by
        criteria never lifts a source's cap)."""
        if args.stack_level not in (None, PLAIN_STACK_LEVEL):
            return
        charger_id = session.charger_id
        rating = self._hub.rating(charger_id)
        watts_per_amp = rating.phases * rating.voltage_v
        for evse, entries in list(self._entries.get(charger_id, {}).items()):
            if not entries or args.evse not in (None, evse):
                continue
            lowest = in_force(entries.values(), rating.max_power_w, watts_per_amp)
            negative = lowest is not None and lowest.watts(watts_per_amp) < 0
            if args.purpose not in (None, default_purpose(evse, negative)):
                continue
            self._sent.pop((charger_id, evse), None)
            result = await self._enforce(session, evse, dict(entries), next(iter(entries)), None)
            if result.status.value != "accepted":
                log.warning("cap_resend_failed", charger_id=charger_id, evse=evse)

    def _withdraw(self, charger_id: str, evse: int, source: str) -> Withdraw:
        """What withdraws this source's limit when its lease lapses."""

        async def on_lapse(reason: str) -> None:
            await self._lapse(charger_id, evse, source, reason)

        return on_lapse

    async def _record(
        self,
        charger_id: str,
        evse: int,
        entries: dict[str, SourceLimit],
        changed: str,
        reason: str | None,
    ) -> None:
        """Keep, show and store the EVSE's limits after a change by `changed`."""
        by_evse = self._entries.setdefault(charger_id, {})
        if entries:
            by_evse[evse] = dict(entries)
        else:
            by_evse.pop(evse, None)
            if not by_evse:
                del self._entries[charger_id]
        self._show(charger_id)
        self._hub.publish_state(charger_id, reason)
        await self._hub.store.save_limit(charger_id, evse, entries.get(changed), changed)
        await self._profiles.recap(charger_id)  # explicit profiles follow the new cap

    def _show(self, charger_id: str) -> None:
        """The book's limits: every source per EVSE, the rating, and the one in force."""
        rating = self._hub.rating(charger_id)
        watts_per_amp = rating.phases * rating.voltage_v
        book = self._hub.book(charger_id)
        book.limits.clear()
        book.in_force.clear()
        for evse, entries in self._entries.get(charger_id, {}).items():
            for entry in entries.values():
                book.limits[(evse, entry.source)] = _shown(entry)
            lowest = in_force(entries.values(), rating.max_power_w, watts_per_amp)
            if lowest is not None:
                book.in_force[evse] = _shown(lowest)
        if book.limits:
            book.limits[(0, RATING)] = ChargerLimit(0, rating.max_power_w, None, None, RATING)

    async def restore_limits(self) -> None:
        """After a restart: limits in force are shown again, TTLs keep running."""
        now = self._hub.clock.time()
        shown: set[str] = set()
        for limit in self._hub.store.stored_limits:
            if limit.expires_at is not None and limit.expires_at <= now:
                # Lapsed while the gateway was down; the schedule's `duration` ended it on the
                # charger, so only the record goes.
                await self._hub.store.save_limit(limit.charger_id, limit.evse, None, limit.source)
                continue
            by_evse = self._entries.setdefault(limit.charger_id, {})
            by_evse.setdefault(limit.evse, {})[limit.source] = limit
            self._hub.leases.resume(
                _lease_key(limit.charger_id, limit.evse, limit.source),
                limit.expires_at,
                self._withdraw(limit.charger_id, limit.evse, limit.source),
                source=CommandSource(limit.source),
            )
            shown.add(limit.charger_id)
        for charger_id in shown:
            self._show(charger_id)
            self._hub.publish_state(charger_id)

    async def _lapse(self, charger_id: str, evse: int, source: str, reason: str) -> None:
        """A TTL'd limit was not renewed (or MQTT was lost): withdraw that source's limit."""
        log.info("limit_lapsed", charger_id=charger_id, evse=evse, source=source, reason=reason)
        entries = dict(self._entries.get(charger_id, {}).get(evse, {}))
        entries.pop(source, None)
        session = self._hub.sessions.get(charger_id)
        if session is not None and not session.closed.is_set():
            try:
                await self._enforce(session, evse, entries, source, reason)
                return
            except CommandError as exc:
                log.warning("limit_clear_failed", charger_id=charger_id, reason=exc.reason)
        await self._record(charger_id, evse, entries, source, reason)
        self._sent.pop((charger_id, evse), None)  # resend whatever holds when it is back


def _lease_key(charger_id: str, evse: int, source: str) -> tuple[str, str, int, str]:
    return ("ocpp-limit", charger_id, evse, source)


def _shown(limit: SourceLimit) -> ChargerLimit:
    expires = None if limit.expires_at is None else datetime.fromtimestamp(limit.expires_at, UTC)
    negative = (limit.power_w or limit.current_a or 0.0) < 0
    purpose = default_purpose(limit.evse, negative)
    return ChargerLimit(
        limit.evse,
        limit.power_w,
        limit.current_a,
        expires,
        limit.source,
        purpose=purpose,
        kind="absolute",
        stack_level=PLAIN_STACK_LEVEL,
        profile_id=PLAIN_PROFILE_ID_BASE + limit.evse,
    )
