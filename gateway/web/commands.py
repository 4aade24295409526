"""Commands sent from the page: the same router, validation, clamps and leases as MQTT.

The page's form becomes the same JSON payload a control centre would publish; the router
parses and dispatches it with source `ui`, so the driver records who set a limit or a
setpoint. Every command is logged with the user who sent it, and its result goes to every
open page (and is answered to the sender) in the shape of an MQTT command result.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import structlog

from gateway.foundation.clock import Clock, format_ts
from gateway.foundation.commands.router import CommandRouter
from gateway.foundation.model import CommandRequest, CommandResult, CommandSource
from gateway.web.feed import LiveFeed

__all__ = ["UI_SOURCE", "PanelCommands"]

log = structlog.get_logger("gateway.web")

UI_SOURCE = CommandSource.UI
"""`CommandRequest.source` of commands from the page."""

_MAX_LOGGED_ARG = 80


class PanelCommands:
    def __init__(self, router: CommandRouter, feed: LiveFeed, clock: Clock) -> None:
        self._router = router
        self._feed = feed
        self._clock = clock
        router.on_result(self._on_result)

    def _on_result(self, request: CommandRequest, result: CommandResult) -> None:
        """Commands from the control centre show on the page too (the site controller's,
        sent every interval, show as the controller's decisions instead)."""
        if request.source != "command":
            return
        body = _result_body(request.request_id, result, self._clock)
        self._report(request, body, "control centre")

    async def send(
        self, user: str, target: str, device_id: str, name: str, payload: bytes
    ) -> dict[str, Any]:
        """Parse, dispatch and report one command; the result body as MQTT would carry it."""
        request, args, rejection = self._router.parse(target, device_id, name, payload)
        bound = log.bind(
            user=user,
            device_id=device_id,
            command=name,
            request_id=request.request_id if request else None,
        )
        if rejection is not None:
            bound.warning("ui_command_rejected", target=target, reason=rejection.reason)
            result = rejection
        else:
            assert request is not None
            request = dataclasses.replace(request, source=UI_SOURCE)
            bound.info("ui_command_received", target=target, args=_short(request.payload))
            result = await self._router.dispatch(request, args)
            bound.info("ui_command_result", status=result.status.value, reason=result.reason)
        body = _result_body(request.request_id if request else None, result, self._clock)
        if request is not None:
            self._report(request, body, user)
        else:  # not even a request (unknown target, not JSON): shown as sent
            event = {**body, "user": user, "command": name, "args": None}
            self._feed.event(target, device_id, f"cmd/{name}/result", event)
        return body

    def _report(self, request: CommandRequest, body: dict[str, Any], user: str) -> None:
        """The result as an event on every open page, with who sent the command."""
        self._feed.event(
            request.target.value,
            request.device_id,
            f"cmd/{request.name}/result",
            {**body, "user": user, "command": request.name, "args": dict(request.payload)},
        )


def _result_body(request_id: str | None, result: CommandResult, clock: Clock) -> dict[str, Any]:
    body = {
        "id": request_id,
        "status": result.status.value,
        "reason": result.reason,
        "detail": dict(result.detail),
        "ts": format_ts(clock.time()),
    }
    # Details are plain JSON for the page; anything else (a datetime) becomes its text.
    parsed: dict[str, Any] = json.loads(json.dumps(body, default=str))
    return parsed


def _short(payload: Any) -> dict[str, str]:
    """Arguments for the log: each value cut short (a log line is not a payload dump)."""
    if not isinstance(payload, dict):
        return {}
    return {str(k)[:40]: repr(v)[:_MAX_LOGGED_ARG] for k, v in list(payload.items())[:12]}
