"""Sending one command to a charger and judging its answer: the plumbing every command shares.

Every outcome is a CommandResult (interfaces.md "Commands"): an offline charger is `rejected`;
no answer within `ocpp.call_timeout_s` is `timeout`; a refusal (a status other than Accepted,
or a CALLERROR) is `rejected` with the charger's answer in `detail`. Calls go through the
session's queue, so commands to one charger are serialised.
"""

from __future__ import annotations

from typing import Any

from drivers.ocpp.hub import Hub
from drivers.ocpp.session import CallRefused, ChargerOffline, QueueFull, Session
from gateway.foundation.model import CommandResult

__all__ = ["Refusal", "call_charger", "judge", "online_session"]

_OK = frozenset({"Accepted", "Scheduled", "Unlocked"})
"""Statuses that mean the charger does (or will do) what was asked."""


class Refusal(Exception):
    """A command ends here with `result` (offline, timeout, refused, not possible)."""

    def __init__(self, result: CommandResult) -> None:
        super().__init__(result.reason)
        self.result = result


def online_session(hub: Hub, charger_id: str) -> Session:
    session = hub.sessions.get(charger_id)
    if session is None or session.closed.is_set():
        raise Refusal(CommandResult.rejected("charger is offline"))
    return session


async def call_charger(hub: Hub, session: Session, action: str, payload: dict[str, Any]) -> Any:
    """The charger's CALLRESULT payload, or Refusal with the result to report."""
    timeout_s = hub.config.call_timeout_s
    try:
        return await session.submit(action, payload, timeout_s)
    except ValueError as exc:  # the payload breaks the version's schema: never sent
        raise Refusal(CommandResult.rejected(str(exc))) from exc
    except CallRefused as exc:
        raise Refusal(
            CommandResult.rejected(
                f"charger answered {action} with {exc.code}",
                error_code=exc.code,
                description=exc.description,
                details=exc.details,
            )
        ) from exc
    except TimeoutError as exc:
        raise Refusal(
            CommandResult.timeout(f"no answer to {action} within {timeout_s:g} s")
        ) from exc
    except ChargerOffline as exc:
        raise Refusal(
            CommandResult.rejected(f"charger went offline before answering {action}")
        ) from exc
    except QueueFull as exc:
        limit = hub.config.max_queued_commands
        raise Refusal(
            CommandResult.rejected(f"queue full: {limit} commands already wait for this charger")
        ) from exc


def judge(action: str, answer: Any, **detail: Any) -> CommandResult:
    status = answer.get("status") if isinstance(answer, dict) else None
    if status in _OK:
        return CommandResult.accepted(charger_status=status, **detail)
    info = answer.get("statusInfo") if isinstance(answer, dict) else None
    return CommandResult.rejected(
        f"charger answered {action}: {status}", charger_status=status, status_info=info, **detail
    )
