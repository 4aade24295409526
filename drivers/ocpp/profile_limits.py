"""Explicit charging profiles: a `limit` with a purpose, kind, schedule, validity or stack
level; clearing by criteria; the TxProfile of a `start`; `get_schedule`.

A plain `limit` (one value per EVSE) is a cap that combines with the other sources'
(limits.py); an explicit one is sent as given, one profile per (EVSE, purpose), built by
core/profile_plan.py (choices documented there and in docs/ocpp.md). Each is an entry of
`state.limits` with its purpose. A profile with `ttl_s` holds a lease (granted by the router);
when it lapses (TTL passed, or MQTT lost) the gateway clears it and says why in the charger's
state. Profiles are stored, so a restarted gateway still shows them and still withdraws them
on time. A `tx` profile lives as long as its transaction: the charger drops it at the end,
and so does the state (`drop_tx_limits`).

An explicit profile outranks the plain caps within its purpose (stack level 2 over 1), so it
is held to the limit in force from the other sources on its EVSE (the control centre's plain
cap, the site controller's share, the rating; on an EVSE also the whole charger's) when it is
sent, and sent again when that limit changes (`recap`): the charger follows the lowest,
whatever the stack levels say (core/profile_cap.py). So is the TxProfile of a `start` naming
its EVSE (it outranks the caps' TxDefault): re-sent bound to its transaction once that runs.
Its `state.limits` entry shows what was asked; `limit_in_force` what holds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import structlog

from drivers.ocpp.calls import call_charger, judge, online_session, refused
from drivers.ocpp.core.composite import composite_request, composite_result
from drivers.ocpp.core.profile_cap import cap_plan, sent_values
from drivers.ocpp.core.profile_plan import (
    ProfilePlan,
    charging_profile,
    plan_profile,
    profile_id,
    purpose_name,
    resolve_purpose,
    set_profile_payload,
)
from drivers.ocpp.core.profiles import clear_by_criteria, clear_by_id
from drivers.ocpp.hub import Hub, SessionHandle
from drivers.ocpp.limit_records import (
    limit_from_json,
    limit_from_plan,
    limit_to_json,
    plan_from_json,
)
from drivers.ocpp.session import ChargerSession
from gateway.foundation.commands.leasing import LeaseTerms, Withdraw
from gateway.foundation.commands.schemas import GetScheduleCommand, LimitCommand, StartCommand
from gateway.foundation.errors import CommandError, CommandRejected
from gateway.foundation.model import ChargerLimit, CommandRequest, CommandResult, CommandSource
from gateway.foundation.model.versions import OcppVersion

__all__ = [
    "EXPLICIT_STACK_LEVEL",
    "PlainCaps",
    "ProfileLimits",
    "attach_start_profile",
    "drop_tx_limits",
]

log = structlog.get_logger("drivers.ocpp.profile_limits")

EXPLICIT_STACK_LEVEL = 2
"""The stack level of an explicit profile when the command names none: one above the combined
caps of plain limits (level 1), so within a purpose the explicit one is what the charger
follows (OCPP: the highest stack level wins)."""

_CLEARED = ("Accepted", "Unknown")
"""ClearChargingProfile answers that leave no matching profile (`Unknown`: there was none)."""


class PlainCaps(Protocol):
    """The sources' combined cap of plain limits (limits.py), which explicit profiles are held
    to."""

    def cap_w(self, charger_id: str, evse: int) -> tuple[float, str] | None:
        """The limit in force on the EVSE from the sources (W) and whose it is; None: none."""
        ...


_Key = tuple[int, str]
"""(EVSE, purpose) of an explicit profile on a charger."""


def _lease_key(charger_id: str, evse: int, purpose: str) -> tuple[str, str, int, str]:
    return ("ocpp-profile", charger_id, evse, purpose)


async def _forget(
    hub: Hub, charger_id: str, keys: list[tuple[int, str]], reason: str | None
) -> None:
    book = hub.book(charger_id)
    for evse, purpose in keys:
        book.profiles.pop((evse, purpose), None)
        await hub.store.save_profile(charger_id, evse, purpose, None)
    hub.publish_state(charger_id, reason)


async def drop_tx_limits(hub: Hub, charger_id: str, evse: int) -> None:
    """A transaction ended: the charger dropped its TxProfile (1.6 §3.13.2, K01.FR.22)."""
    if (evse, "tx") in hub.book(charger_id).profiles:
        hub.leases.ended(_lease_key(charger_id, evse, "tx"))
        await _forget(hub, charger_id, [(evse, "tx")], None)


async def attach_start_profile(
    hub: Hub, charger_id: str, evse: int, transaction_id: str, id_tag: str | None
) -> None:
    """A transaction started: the TxProfile of the remote start that led to it (if any) is
    now bound to it; show it on its EVSE with the transaction id."""
    book = hub.book(charger_id)
    pending = book.pending_start_profiles.pop((id_tag or "").upper(), None)
    held = book.profiles.get((evse, "tx"))
    if pending is not None:
        plan, source = pending
        limit = limit_from_plan(dataclasses.replace(plan, evse=evse), source, None)
    elif held is not None and held.transaction_id is None:
        limit = held
    else:
        return
    limit = dataclasses.replace(limit, evse=evse, transaction_id=transaction_id)
    book.profiles[(evse, "tx")] = limit
    hub.publish_state(charger_id)
    await hub.store.save_profile(charger_id, evse, "tx", limit_to_json(limit))


class ProfileLimits:
    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self.after_clear: Callable[[ChargerSession, LimitCommand], Awaitable[None]] | None = None
        """Called after a clear by criteria (which may have removed the plain caps' profile
        too: limits.py sends it again)."""
        self.caps: PlainCaps | None = None
        self._asked: dict[str, dict[_Key, ProfilePlan]] = {}
        """Each charger's explicit profiles as the commands asked them (before holding them to
        the caps); by charger, so a change on one never walks the others'."""
        self._told: dict[str, dict[_Key, tuple[tuple[float, float | None], ...]]] = {}
        """What each charger was sent for them, period by period (absent: not known)."""

    # -- limit --------------------------------------------------------------------------

    async def limit(
        self, request: CommandRequest, args: LimitCommand, lease: LeaseTerms
    ) -> CommandResult:
        charger_id = request.device_id
        session = online_session(self._hub, charger_id)
        if args.clears_by_criteria:
            return await self._clear_by_criteria(session, args, lease)
        evse = args.evse or 0
        purpose = resolve_purpose(args)
        held = self._hub.book(charger_id).profiles.get((evse, purpose))
        tx = self._hub.store.open_on(charger_id, evse) if purpose == "tx" and evse else None
        tx_id = None if tx is None else tx.transaction_id
        if session.version == OcppVersion.V16 and tx_id is not None and not tx_id.isdigit():
            tx_id = None
        plan = plan_profile(
            args,
            version=session.version,
            rating=self._hub.rating(charger_id),
            now_s=self._hub.clock.time(),
            stack_level=EXPLICIT_STACK_LEVEL
            if held is None or held.stack_level is None
            else held.stack_level,
            transaction_id=tx_id,
        )
        if isinstance(plan, str):
            raise CommandRejected(plan)
        sent, held_to = self._held(charger_id, plan)
        payload = set_profile_payload(sent, session.version)
        answer = await call_charger(self._hub, session, "SetChargingProfile", payload)
        result = judge("SetChargingProfile", answer, **_held_detail(sent, held_to))
        if result.status.value == "accepted":
            self._follow(charger_id, plan, sent)
            await self._hold(plan, charger_id, lease)
        return result

    def _follow(self, charger_id: str, plan: ProfilePlan, sent: ProfilePlan) -> None:
        """`plan` was accepted as `sent`: `recap` keeps it held to the caps from now on."""
        key = (plan.evse, plan.purpose)
        self._asked.setdefault(charger_id, {})[key] = plan
        self._told.setdefault(charger_id, {})[key] = sent_values(sent)

    def _held(
        self, charger_id: str, plan: ProfilePlan
    ) -> tuple[ProfilePlan, tuple[float, str] | None]:
        """`plan` held to the other sources' limit in force where it applies (on an EVSE: that
        EVSE's and the whole charger's), and that limit when it lowered a period."""
        if self.caps is None:
            return plan, None
        found = [self.caps.cap_w(charger_id, plan.evse)]
        if plan.evse:
            found.append(self.caps.cap_w(charger_id, 0))
        caps = [cap for cap in found if cap is not None]
        if not caps:
            return plan, None
        lowest = min(caps)
        voltage = self._hub.rating(charger_id).voltage_v
        sent = cap_plan(plan, lowest[0], voltage)
        return sent, (None if sent is plan else lowest)

    async def recap(self, charger_id: str) -> None:
        """The other sources' limits changed: send again each explicit profile whose periods
        they now hold differently (lower, or back up towards what was asked)."""
        session = self._hub.sessions.get(charger_id)
        if session is None or session.closed.is_set():
            return
        book = self._hub.book(charger_id)
        now = self._hub.clock.time()
        asked = self._asked.get(charger_id)
        if not asked:
            return
        told = self._told.setdefault(charger_id, {})
        for key, plan in list(asked.items()):
            if key not in book.profiles:
                asked.pop(key, None)
                told.pop(key, None)
                continue
            if plan.valid_to_s is not None and plan.valid_to_s <= now:
                continue  # the charger dropped it; its lease clears the entry
            if plan.purpose == "tx" and plan.transaction_id is None:
                # A start's TxProfile: re-sent bound to its transaction, once that has begun.
                tx_id = book.profiles[(plan.evse, plan.purpose)].transaction_id
                if tx_id is None:
                    continue
                if session.version == OcppVersion.V16 and not tx_id.isdigit():
                    tx_id = None
                plan = dataclasses.replace(plan, transaction_id=tx_id)
            sent, held_to = self._held(charger_id, plan)
            if told.get(key) == sent_values(sent):
                continue
            payload = set_profile_payload(sent, session.version)
            try:
                answer = await call_charger(self._hub, session, "SetChargingProfile", payload)
                judge("SetChargingProfile", answer)
            except CommandError as exc:
                # Tried again at the next change of the caps.
                log.warning(
                    "explicit_profile_not_held",
                    charger_id=charger_id,
                    evse=plan.evse,
                    purpose=plan.purpose,
                    reason=exc.reason,
                )
                told.pop(key, None)
                continue
            told[key] = sent_values(sent)
            log.info(
                "explicit_profile_held",
                charger_id=charger_id,
                evse=plan.evse,
                purpose=plan.purpose,
                held_to_w=None if held_to is None else held_to[0],
                held_by=None if held_to is None else held_to[1],
            )

    async def _hold(self, plan: ProfilePlan, charger_id: str, lease: LeaseTerms) -> None:
        key = _lease_key(charger_id, plan.evse, plan.purpose)
        lease.hold(key, self._withdraw(charger_id, plan.evse, plan.purpose))
        limit = limit_from_plan(plan, str(lease.source), lease.expires_at)
        await self._show(charger_id, limit, plan=plan)

    def _withdraw(self, charger_id: str, evse: int, purpose: str) -> Withdraw:
        """What clears the profile when its lease lapses."""

        async def on_lapse(reason: str) -> None:
            await self._lapse(charger_id, evse, purpose, reason)

        return on_lapse

    async def _show(
        self,
        charger_id: str,
        limit: ChargerLimit,
        *,
        store: bool = True,
        plan: ProfilePlan | None = None,
    ) -> None:
        purpose = limit.purpose or "tx_default"
        self._hub.book(charger_id).profiles[(limit.evse, purpose)] = limit
        self._hub.publish_state(charger_id)
        if store:
            body = limit_to_json(limit, plan)
            await self._hub.store.save_profile(charger_id, limit.evse, purpose, body)

    async def restore_profiles(self) -> None:
        """After a restart: profiles are shown again, TTLs keep running."""
        now = self._hub.clock.time()
        for stored in self._hub.store.stored_profiles:
            try:
                limit = limit_from_json(stored.body)
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("stored_limit_unreadable", charger_id=stored.charger_id, error=str(exc))
                await self._hub.store.save_profile(
                    stored.charger_id, stored.evse, stored.purpose, None
                )
                continue
            expires = None if limit.expires_at is None else limit.expires_at.timestamp()
            if limit.purpose == "tx" or (expires is not None and expires <= now):
                # Lapsed while the gateway was down (the profile's own validity ended it on the
                # charger), or bound to a transaction that may have ended meanwhile.
                await self._hub.store.save_profile(
                    stored.charger_id, stored.evse, stored.purpose, None
                )
                continue
            known = limit.source in {s.value for s in CommandSource}
            source = CommandSource(limit.source) if known else CommandSource.COMMAND
            self._hub.leases.resume(
                _lease_key(stored.charger_id, stored.evse, stored.purpose),
                expires,
                self._withdraw(stored.charger_id, stored.evse, stored.purpose),
                source=source,
            )
            plan = plan_from_json(stored.body)
            if plan is not None:  # held to the caps again at their next change
                self._asked.setdefault(stored.charger_id, {})[(plan.evse, plan.purpose)] = plan
            await self._show(stored.charger_id, limit, store=False)

    # -- clearing -----------------------------------------------------------------------

    async def _clear_one(
        self, session: SessionHandle, evse: int, purpose: str, reason: str | None
    ) -> CommandResult:
        held = self._hub.book(session.charger_id).profiles.get((evse, purpose))
        pid = held.profile_id if held is not None and held.profile_id is not None else None
        if pid is None:
            pid = profile_id(purpose, evse)  # type: ignore[arg-type]
        status = await self._clear_call(session, clear_by_id(pid, session.version))
        await _forget(self._hub, session.charger_id, [(evse, purpose)], reason)
        return CommandResult.accepted(charger_status=status)

    async def _clear_call(self, session: SessionHandle, payload: dict[str, Any]) -> str:
        """The charger's status when it has no matching profile left, else the rejection."""
        answer = await call_charger(self._hub, session, "ClearChargingProfile", payload)
        status = answer.get("status") if isinstance(answer, dict) else None
        if status not in _CLEARED:
            raise refused("ClearChargingProfile", answer)
        return str(status)

    async def _clear_by_criteria(
        self, session: ChargerSession, args: LimitCommand, lease: LeaseTerms
    ) -> CommandResult:
        name = None if args.purpose is None else purpose_name(args.purpose, session.version)
        payload = clear_by_criteria(name, args.evse, args.stack_level, session.version)
        status = await self._clear_call(session, payload)
        gone = [
            key
            for key, limit in self._hub.book(session.charger_id).profiles.items()
            if (args.evse is None or key[0] == args.evse)
            and (args.purpose is None or key[1] == args.purpose)
            and (args.stack_level is None or limit.stack_level == args.stack_level)
        ]
        for evse, purpose in gone:
            lease.end(_lease_key(session.charger_id, evse, purpose))
        await _forget(self._hub, session.charger_id, gone, None)
        if self.after_clear is not None:
            await self.after_clear(session, args)
        return CommandResult.accepted(charger_status=status, cleared=len(gone))

    async def _lapse(self, charger_id: str, evse: int, purpose: str, reason: str) -> None:
        """A TTL'd limit was not renewed (or MQTT was lost): withdraw it from the charger."""
        log.info("limit_lapsed", charger_id=charger_id, evse=evse, purpose=purpose, reason=reason)
        session = self._hub.sessions.get(charger_id)
        if session is not None and not session.closed.is_set():
            try:
                await self._clear_one(session, evse, purpose, reason)
                return
            except CommandError as exc:
                log.warning("limit_clear_failed", charger_id=charger_id, reason=exc.reason)
        await _forget(self._hub, charger_id, [(evse, purpose)], reason)

    # -- start with a limit, composite schedule ------------------------------------------

    def start_profile(
        self, charger_id: str, version: OcppVersion, args: StartCommand
    ) -> tuple[dict[str, Any], ProfilePlan, ProfilePlan, dict[str, Any]]:
        """The TxProfile for a remote start (no transaction id yet), or the rejection: the
        profile sent, the plan as asked, as sent (held to the caps on its EVSE, as an explicit
        profile is: a TxProfile outranks the plain caps' TxDefault) and the result's detail."""
        assert args.limit is not None
        spec = args.limit
        command = LimitCommand(
            power_w=spec.power_w,
            current_a=spec.current_a,
            schedule=spec.schedule,
            evse=args.evse,
            purpose="tx",
            kind=spec.kind or "relative",
            start=spec.start,
            stack_level=spec.stack_level,
        )
        plan = plan_profile(
            command,
            version=version,
            rating=self._hub.rating(charger_id),
            now_s=self._hub.clock.time(),
            stack_level=EXPLICIT_STACK_LEVEL,
            remote_start=True,
        )
        if isinstance(plan, str):
            raise CommandRejected(plan)
        sent, held_to = self._held(charger_id, plan)
        return charging_profile(sent, version), plan, sent, _held_detail(sent, held_to)

    async def started_with(
        self,
        charger_id: str,
        plan: ProfilePlan,
        sent: ProfilePlan,
        lease: LeaseTerms,
        id_tag: str,
    ) -> None:
        """The charger accepted a start with a TxProfile (`plan` as asked, `sent` as held):
        show it on its EVSE now when the start named one (held under the start's lease, no
        TTL) and keep it held to the caps while its transaction runs (`recap`), else show it
        once the transaction starts (`attach_start_profile`)."""
        if plan.evse:
            self._follow(charger_id, plan, sent)
            await self._hold(plan, charger_id, lease)
        else:
            pending = self._hub.book(charger_id).pending_start_profiles
            pending[id_tag.upper()] = (plan, lease.source)

    async def get_schedule(
        self, request: CommandRequest, args: GetScheduleCommand
    ) -> CommandResult:
        session = online_session(self._hub, request.device_id)
        payload = composite_request(args.evse, args.duration_s, args.unit, session.version)
        answer = await call_charger(self._hub, session, "GetCompositeSchedule", payload)
        status = answer.get("status") if isinstance(answer, dict) else None
        if status != "Accepted":
            return judge("GetCompositeSchedule", answer)
        detail = composite_result(answer, session.version, self._hub.rating(request.device_id))
        return CommandResult.accepted(charger_status=status, **detail)


def _held_detail(sent: ProfilePlan, held_to: tuple[float, str] | None) -> dict[str, Any]:
    """A result's detail for an explicit profile: what was sent, and the limit that held it."""
    detail = sent.detail()
    if held_to is not None:
        detail["held_to"] = {"power_w": held_to[0], "source": held_to[1]}
    return detail
