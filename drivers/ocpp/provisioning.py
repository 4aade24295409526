"""After every boot: apply `ocpp.chargers[].provision`, settle a Pending boot, sync the local list.

Provisioning reads the configured keys in one call and writes only those whose value differs
(so a charger that already has them is not written to at every boot). The outcome per key is
in `state.provision`. A key the charger takes only after a reboot is reported
(`RebootRequired`) and left to the operator: the gateway never reboots a charger by surprise.

`boot: pending` (1.6 §4.2, 2.0.1 B02): BootNotification is answered `Pending` until
provisioning is done; both versions let the central system send requests meanwhile. Then the
gateway asks for a new BootNotification (TriggerMessage), which is accepted; a charger that
refuses the trigger is accepted at its next BootNotification (after `PENDING_RETRY_S`).
"""

from __future__ import annotations

from typing import Any

from drivers.ocpp.authorization import AuthorizationCommands
from drivers.ocpp.calls import call_charger
from drivers.ocpp.config_commands import ConfigAccess
from drivers.ocpp.hub import Hub
from drivers.ocpp.session import ChargerSession
from gateway.foundation.clock import format_ts
from gateway.foundation.commands.management import GetConfigCommand, SetConfigCommand
from gateway.foundation.config import ProvisionValue
from gateway.foundation.errors import CommandError

__all__ = ["PENDING_RETRY_S", "BootFollowUp", "same_value", "text_of"]

PENDING_RETRY_S = 30
"""The `interval` of a Pending answer: when the charger sends BootNotification again."""


def text_of(value: ProvisionValue) -> str:
    """A configured value as OCPP writes it (booleans `true`/`false`, no `.0`)."""
    return SetConfigCommand(key="k", value=value).text


def same_value(current: str | None, wanted: str) -> bool:
    """Whether the charger already has the value (`10` = `10.0`, `TRUE` = `true`)."""
    if current is None:
        return False
    if current.strip().lower() == wanted.strip().lower():
        return True
    try:
        return float(current) == float(wanted)
    except ValueError:
        return False


class BootFollowUp:
    """What the gateway does once a BootNotification has been answered."""

    def __init__(self, hub: Hub, access: ConfigAccess, auth: AuthorizationCommands) -> None:
        self._hub = hub
        self._access = access
        self._auth = auth

    def boot_status(self, s: ChargerSession) -> str:
        """`Pending` while a `boot: pending` charger is not provisioned yet, else `Accepted`."""
        pending = self._hub.charger_config(s.charger_id).boot == "pending"
        return "Pending" if pending and not s.provisioned else "Accepted"

    async def after_boot(self, s: ChargerSession, status: str) -> None:
        if not s.provisioned:
            await self.provision(s)
            s.provisioned = True
        if status == "Pending":
            await self._settle_pending(s)
            return
        if self._hub.config.authorize.sync_local_list:
            await self._auth.sync(s, check_version=True)

    async def _settle_pending(self, s: ChargerSession) -> None:
        try:
            answer = await call_charger(
                self._hub, s, "TriggerMessage", {"requestedMessage": "BootNotification"}
            )
        except CommandError as exc:
            s.log.info("boot_trigger_refused", reason=exc.reason)
            return
        s.log.info("boot_trigger_sent", status=(answer or {}).get("status"))

    async def provision(self, s: ChargerSession) -> None:
        wanted = {
            k: text_of(v) for k, v in self._hub.charger_config(s.charger_id).provision.items()
        }
        if not wanted:
            return
        book = self._hub.book(s.charger_id)
        now = format_ts(self._hub.clock.time())
        outcome: dict[str, dict[str, Any]] = {}
        try:
            split = await self._access.read(s, list(wanted), GetConfigCommand())
        except CommandError as exc:
            reason = exc.reason or "read failed"
            book.provision = {
                k: {"status": "error", "wanted": v, "at": now, "reason": reason}
                for k, v in wanted.items()
            }
            s.log.warning("provision_read_failed", reason=reason)
            await s.publish_state()
            return
        current = {e["key"]: e.get("value") for e in split.values}
        for key, value in wanted.items():
            if key in split.unknown or key not in current:
                outcome[key] = {"status": "UnknownKey", "wanted": value, "at": now}
                continue
            if same_value(current[key], value):
                outcome[key] = {
                    "status": "unchanged",
                    "value": current[key],
                    "wanted": value,
                    "at": now,
                }
                continue
            outcome[key] = await self._write(s, key, value, current[key], now)
        book.provision = outcome
        failed = [k for k, v in outcome.items() if v["status"] not in ("unchanged", "Accepted")]
        s.log.info("provisioned", keys=len(outcome), not_applied=failed)
        await s.publish_state()

    async def _write(
        self, s: ChargerSession, key: str, value: str, before: str | None, now: str
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {"wanted": value, "at": now}
        if before is not None:
            entry["value"] = before
        try:
            result = await self._access.write(s, SetConfigCommand(key=key, value=value))
        except CommandError as exc:
            return {**entry, "status": "error", "reason": exc.reason}
        if result.status == "RebootRequired":
            s.log.warning("provision_needs_reboot", key=key)
        return {**entry, "status": result.status}
