"""Authorisation: decisions published as events, the site's tags, chargers' local lists.

Every answer to a tag (Authorize, StartTransaction, StopTransaction, a TransactionEvent's
idToken) is decided by `TagAuthorizer` and published on `P/charger/{id}/event` as
`authorize` with the tag, the answer and the reason. `P/site/cmd/tags` changes the stored
site list, effective at once. `local_list` / `clear_cache` are SendLocalList / ClearCache;
with `ocpp.authorize.sync_local_list` every charger's local list follows the site's tags
(after each change, and after each boot when the charger's list version differs).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from drivers.ocpp.calls import call_charger, judge, online_session
from drivers.ocpp.core.authorize import Decision, SiteTag
from drivers.ocpp.hub import Hub
from drivers.ocpp.session import ChargerSession
from gateway.foundation.commands.management import (
    ClearCacheCommand,
    LocalListCommand,
    LocalListEntry,
    TagsCommand,
)
from gateway.foundation.commands.router import CommandRouter
from gateway.foundation.errors import CommandError
from gateway.foundation.model import (
    ChargerEvent,
    ChargerId,
    CommandRequest,
    CommandResult,
    DeviceKind,
)
from gateway.foundation.model.versions import OcppVersion

__all__ = ["AuthorizationCommands", "decide", "id_tag_info", "id_token_info"]

_UPDATE = {"full": "Full", "differential": "Differential"}


def _ocpp_time(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def decide(s: ChargerSession, id_tag: str | None, token_type: str | None, context: str) -> Decision:
    """Decide, log and publish one authorisation (`authorize` event)."""
    decision = s.hub.authorizer.decide(id_tag, token_type, s.hub.clock.time())
    data: dict[str, Any] = {
        "id_tag": id_tag,
        "answer": decision.status,
        "reason": decision.reason,
        "context": context,
    }
    if token_type is not None:
        data["token_type"] = token_type
    s.log.info("authorize", context=context, answer=decision.status, reason=decision.reason)
    s.hub.recorder.record(ChargerEvent(ChargerId(s.charger_id), "authorize", data))
    return decision


def id_tag_info(decision: Decision) -> dict[str, Any]:
    """1.6 IdTagInfo."""
    info: dict[str, Any] = {"status": decision.status}
    if decision.expires_at is not None:
        info["expiryDate"] = _ocpp_time(decision.expires_at)
    if decision.group is not None:
        info["parentIdTag"] = decision.group[:20]
    return info


def id_token_info(decision: Decision) -> dict[str, Any]:
    """2.x IdTokenInfo."""
    info: dict[str, Any] = {"status": decision.status}
    if decision.expires_at is not None:
        info["cacheExpiryDateTime"] = _ocpp_time(decision.expires_at)
    if decision.group is not None:
        info["groupIdToken"] = {"idToken": decision.group, "type": "Local"}
    return info


def _list_entry(version: OcppVersion, entry: LocalListEntry) -> dict[str, Any]:
    decision = Decision(
        entry.status or "Accepted",
        "local_list",
        entry.expires_at.timestamp() if entry.expires_at else None,
        entry.group,
    )
    if version == OcppVersion.V16:
        item: dict[str, Any] = {"idTag": entry.id_tag}
        if entry.status is not None:
            item["idTagInfo"] = id_tag_info(decision)
        return item
    item = {"idToken": {"idToken": entry.id_tag, "type": "ISO14443"}}
    if entry.status is not None:
        item["idTokenInfo"] = id_token_info(decision)
    return item


def send_local_list_payload(
    version: OcppVersion, list_version: int, update: str, entries: list[LocalListEntry]
) -> dict[str, Any]:
    items = [_list_entry(version, e) for e in entries]
    if version == OcppVersion.V16:
        payload: dict[str, Any] = {"listVersion": list_version, "updateType": _UPDATE[update]}
        if items:
            payload["localAuthorizationList"] = items
        return payload
    payload = {"versionNumber": list_version, "updateType": _UPDATE[update]}
    if items:
        payload["localAuthorizationList"] = items
    return payload


class AuthorizationCommands:
    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self._syncs: set[asyncio.Task[None]] = set()

    def register(self, router: CommandRouter) -> None:
        router.register(DeviceKind.SITE, "tags", self.tags)
        router.register(DeviceKind.CHARGER, "local_list", self.local_list)
        router.register(DeviceKind.CHARGER, "clear_cache", self.clear_cache)

    @property
    def _store(self) -> Any:
        store = self._hub.tag_store
        assert store is not None, "the tag store is opened at driver start"
        return store

    def site_entries(self) -> list[LocalListEntry]:
        """The site's tags as local list entries (expired ones as Expired)."""
        now = self._hub.clock.time()
        entries = []
        for tag in self._store.tags.values():
            expired = tag.expires_at is not None and tag.expires_at <= now
            entries.append(
                LocalListEntry(
                    id_tag=tag.id_tag,
                    status="Expired" if expired else "Accepted",
                    expires_at=datetime.fromtimestamp(tag.expires_at, UTC)
                    if tag.expires_at is not None
                    else None,
                    group=tag.group,
                )
            )
        return entries

    async def tags(self, request: CommandRequest, args: TagsCommand) -> CommandResult:
        add = [
            SiteTag(t.id_tag, t.expires_at.timestamp() if t.expires_at else None, t.group)
            for t in args.add
        ]
        added, unknown = await self._store.change(add, [t.id_tag for t in args.remove])
        detail: dict[str, Any] = {
            "added": added,
            "removed": len(args.remove) - len(unknown),
            "list_version": self._store.version,
            "tags": len(self._store.tags),
        }
        if unknown:
            detail["not_found"] = unknown
        if self._hub.config.authorize.sync_local_list:
            for session in list(self._hub.sessions.values()):
                if isinstance(session, ChargerSession):
                    session.spawn(self.sync(session), "local_list_sync")
        return CommandResult.accepted(**detail)

    async def sync(self, session: ChargerSession, *, check_version: bool = False) -> None:
        """Send the site's tags as the charger's full local list (`sync_local_list`)."""
        version = self._store.version
        if check_version:
            try:
                answer = await call_charger(self._hub, session, "GetLocalListVersion", {})
            except CommandError as exc:
                session.log.warning("local_list_version_unknown", reason=exc.reason)
                return
            if (answer or {}).get("listVersion", (answer or {}).get("versionNumber")) == version:
                return
        payload = send_local_list_payload(
            session.version, max(version, 1), "full", self.site_entries()
        )
        try:
            answer = await call_charger(self._hub, session, "SendLocalList", payload)
        except CommandError as exc:
            session.log.warning("local_list_sync_failed", reason=exc.reason)
            return
        session.log.info("local_list_synced", version=version, status=answer.get("status"))

    async def local_list(self, request: CommandRequest, args: LocalListCommand) -> CommandResult:
        entries = list(args.entries) if args.entries is not None else self.site_entries()
        session = online_session(self._hub, request.device_id)
        payload = send_local_list_payload(session.version, args.version, args.update, entries)
        answer = await call_charger(self._hub, session, "SendLocalList", payload)
        return judge("SendLocalList", answer, entries=len(entries), list_version=args.version)

    async def clear_cache(self, request: CommandRequest, args: ClearCacheCommand) -> CommandResult:
        session = online_session(self._hub, request.device_id)
        answer = await call_charger(self._hub, session, "ClearCache", {})
        return judge("ClearCache", answer)
