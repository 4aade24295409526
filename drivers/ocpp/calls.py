"""Sending one command to a charger and judging its answer: the plumbing every command shares.

Every way a command can end badly is an error from the foundation's tree, raised here with the
action named and turned into the result by the command router (interfaces.md "Commands"): an
offline charger is `DeviceOffline` (rejected); no answer within `ocpp.call_timeout_s` is
`DeviceTimeout`; a refusal (a status other than Accepted, or a CALLERROR) is `DeviceRefused`
with the charger's answer in `detail`; a charger whose queue is full is `CommandRejected`; a
payload the version's schema refuses is `InvalidCommand` (never sent). Calls go through the
session's queue, so commands to one charger are serialised.
"""

from __future__ import annotations

from typing import Any

from drivers.ocpp.errors import CallRefused, ChargerOffline, QueueFull
from drivers.ocpp.hub import Hub, SessionHandle
from drivers.ocpp.session import ChargerSession
from gateway.foundation.errors import (
    CommandRejected,
    DeviceOffline,
    DeviceRefused,
    DeviceTimeout,
    InvalidCommand,
)
from gateway.foundation.model import CommandResult

__all__ = ["call_charger", "judge", "online_session", "refused"]

_OK = frozenset({"Accepted", "Scheduled", "Unlocked"})
"""Statuses that mean the charger does (or will do) what was asked."""


def online_session(hub: Hub, charger_id: str) -> ChargerSession:
    session = hub.sessions.get(charger_id)
    if not isinstance(session, ChargerSession) or session.closed.is_set():
        raise ChargerOffline("charger is offline")
    return session


async def call_charger(hub: Hub, session: SessionHandle, action: str, payload: dict[str, Any]) -> Any:
    """The charger's CALLRESULT payload; DeviceRefused, DeviceTimeout or DeviceOffline."""
    timeout_s = hub.config.call_timeout_s
    try:
        return await session.submit(action, payload, timeout_s)
    except ValueError as exc:  # the payload breaks the version's schema: never sent
        raise InvalidCommand(str(exc)) from exc
    except CallRefused as exc:
        raise DeviceRefused(
            f"charger answered {action} with {exc.code}",
            error_code=exc.code,
            description=exc.description,
            details=exc.details,
        ) from exc
    except TimeoutError as exc:
        raise DeviceTimeout(f"no answer to {action} within {timeout_s:g} s") from exc
    except ChargerOffline as exc:
        raise DeviceOffline(f"charger went offline before answering {action}") from exc
    except QueueFull as exc:
        limit = hub.config.max_queued_commands
        raise CommandRejected(
            f"queue full: {limit} commands already wait for this charger"
        ) from exc


def judge(action: str, answer: Any, **detail: Any) -> CommandResult:
    """Accepted when the charger's status says it does it; else raises DeviceRefused."""
    status = answer.get("status") if isinstance(answer, dict) else None
    if status in _OK:
        return CommandResult.accepted(charger_status=status, **detail)
    raise refused(action, answer, **detail)


def refused(action: str, answer: Any, **detail: Any) -> DeviceRefused:
    """The charger's answer to `action` was no: its status and statusInfo go in `detail`."""
    status = answer.get("status") if isinstance(answer, dict) else None
    info = answer.get("statusInfo") if isinstance(answer, dict) else None
    return DeviceRefused(
        f"charger answered {action}: {status}", charger_status=status, status_info=info, **detail
    )
