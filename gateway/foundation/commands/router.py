"""Parse, validate and route commands; every outcome is a `CommandResult`, nothing raises out.

Drivers register a handler per (target, command name) and the device ids they serve. The
router owns everything a handler should not repeat: JSON and schema validation, unknown
devices and commands, a handler that raises or hangs, and a bound on the commands in
progress per device (beyond it: `rejected`, "queue full"; devices never wait on each other).

A handler returns its accepted result or raises from the error tree
(`gateway.foundation.errors`): the result sent back for a `CommandError` is built here, and
only here. A command that holds something on a device (a setpoint, a limit) is registered
with `register_leased`: its handler declares what it holds, and the router grants, renews and
releases the lease when the handler's result is `accepted` (leasing.py), for every source.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from pydantic import BaseModel, ValidationError

from gateway.foundation.commands.leasing import LeasedHandler, LeaseTerms
from gateway.foundation.commands.schemas import COMMAND_SCHEMAS
from gateway.foundation.errors import CommandError
from gateway.foundation.leases import LeaseTable
from gateway.foundation.model import CommandRequest, CommandResult, CommandStatus, DeviceKind

__all__ = ["CommandHandler", "CommandRouter", "ResultListener"]

CommandHandler = Callable[[CommandRequest, Any], Awaitable[CommandResult]]
"""`handler(request, args)`; args is the validated command model (see schemas.py)."""

ResultListener = Callable[[CommandRequest, CommandResult], None]
"""Told every dispatched command's outcome (the web page shows them); must be quick."""

log = structlog.get_logger("gateway.commands")

_MAX_PAYLOAD = 64 * 1024
_MAX_ID_CHARS = 128


class CommandRouter:
    def __init__(
        self,
        *,
        handler_timeout_s: float = 60.0,
        per_device_in_progress: int = 64,
        leases: LeaseTable | None = None,
    ) -> None:
        self._leases = leases if leases is not None else LeaseTable()
        """The gateway's lease table: granted here for every source, lapsed by its own loop
        (private: a driver reaches leases only through its handler's `LeaseTerms`)."""
        self._handlers: dict[tuple[DeviceKind, str], CommandHandler] = {}
        self._devices: dict[DeviceKind, set[str]] = {kind: set() for kind in DeviceKind}
        self._timeout = handler_timeout_s
        self._per_device = per_device_in_progress
        self._in_progress: dict[tuple[DeviceKind, str], int] = {}
        self._listeners: list[ResultListener] = []

    def register(self, target: DeviceKind, name: str, handler: CommandHandler) -> None:
        if (target, name) not in COMMAND_SCHEMAS:
            raise ValueError(f"no schema for command {target}/{name}")
        self._handlers[(target, name)] = handler

    def register_leased(self, target: DeviceKind, name: str, handler: LeasedHandler) -> None:
        """A command whose handler declares a lease: granted with the command's `ttl_s`
        (none: held until replaced) and source once the handler returns `accepted`."""

        async def leased(request: CommandRequest, args: Any) -> CommandResult:
            lease = LeaseTerms(self._leases, getattr(args, "ttl_s", None), request.source)
            result = await handler(request, args, lease)
            if result.status is CommandStatus.ACCEPTED:
                lease.settle()
            return result

        self.register(target, name, leased)

    def on_result(self, listener: ResultListener) -> None:
        self._listeners.append(listener)

    def handles(self, target: DeviceKind, name: str) -> bool:
        return (target, name) in self._handlers

    def add_device(self, kind: DeviceKind, device_id: str) -> None:
        self._devices[kind].add(device_id)

    def remove_device(self, kind: DeviceKind, device_id: str) -> None:
        self._devices[kind].discard(device_id)

    def parse(
        self, kind: str, device_id: str, name: str, payload: bytes
    ) -> tuple[CommandRequest | None, Any, CommandResult | None]:
        """Validate a raw command: (request, args, None) or (request-or-None, None, rejection)."""
        request_id: str | None = None
        try:
            target = DeviceKind(kind)
        except ValueError:
            return None, None, CommandResult.rejected(f"unknown target {kind!r}")
        if len(payload) > _MAX_PAYLOAD:
            return None, None, CommandResult.rejected(f"payload larger than {_MAX_PAYLOAD} bytes")
        try:
            body = json.loads(payload) if payload.strip() else {}
        except RecursionError:
            return None, None, CommandResult.rejected("payload is nested too deeply")
        except ValueError as exc:  # not JSON, not UTF-8, a number of 5,000 digits
            return None, None, CommandResult.rejected(f"payload is not JSON: {str(exc)[:200]}")
        if not isinstance(body, dict):
            return None, None, CommandResult.rejected("payload must be a JSON object")
        where = _non_finite(body)
        if where is not None:
            return None, None, CommandResult.rejected(
                f"{where}: not a finite number (NaN and Infinity are not JSON)"
            )
        raw_id = body.pop("id", None)
        if raw_id is not None:
            if not _valid_id(raw_id):
                return None, None, CommandResult.rejected(_ID_RULE)
            request_id = str(raw_id)
        request = CommandRequest(target, device_id, name, request_id, body)
        schema = COMMAND_SCHEMAS.get((target, name))
        if schema is None or (target, name) not in self._handlers:
            known = sorted(n for (t, n) in self._handlers if t is target)
            return (
                request,
                None,
                CommandResult.rejected(f"unknown command {name!r} for {target.value}", known=known),
            )
        if target is not DeviceKind.SITE and device_id not in self._devices[target]:
            return request, None, CommandResult.rejected(f"unknown {target.value} {device_id!r}")
        try:
            args = schema.model_validate(body)
        except ValidationError as exc:
            return request, None, CommandResult.rejected(_describe(exc), errors=_errors(exc))
        return request, args, None

    async def dispatch(self, request: CommandRequest, args: BaseModel) -> CommandResult:
        result = await self._run(request, args)
        for listener in self._listeners:
            try:
                listener(request, result)
            except Exception:
                log.exception("command_result_listener_failed", command=request.name)
        return result

    async def _run(self, request: CommandRequest, args: BaseModel) -> CommandResult:
        handler = self._handlers[(request.target, request.name)]
        bound = log.bind(
            device_id=request.device_id, command=request.name, request_id=request.request_id
        )
        key = (request.target, request.device_id)
        busy = self._in_progress.get(key, 0)
        if busy >= self._per_device:
            bound.warning("command_queue_full", in_progress=busy)
            return CommandResult.rejected(
                f"queue full: {busy} commands in progress for this device"
            )
        self._in_progress[key] = busy + 1
        try:
            async with asyncio.timeout(self._timeout):
                return await handler(request, args)
        except CommandError as exc:
            bound.info("command_not_done", status=exc.status.value, reason=exc.reason)
            return exc.result
        except TimeoutError:
            bound.warning("command_timeout", timeout_s=self._timeout)
            return CommandResult.timeout(f"no outcome within {self._timeout:g} s")
        except Exception as exc:
            bound.exception("command_failed")
            return CommandResult.failed(f"internal error: {type(exc).__name__}: {exc}")
        finally:
            left = self._in_progress.pop(key) - 1
            if left:
                self._in_progress[key] = left


_ID_RULE = f"id must be a string of at most {_MAX_ID_CHARS} characters or a 64-bit integer"


def _valid_id(raw_id: object) -> bool:
    if isinstance(raw_id, bool):
        return False
    if isinstance(raw_id, int):
        return -(2**63) <= raw_id < 2**63
    return isinstance(raw_id, str) and len(raw_id) <= _MAX_ID_CHARS


def _non_finite(body: Any) -> str | None:
    """Where the first NaN/Infinity (`NaN`, `1e999`) sits in a parsed payload, if any.

    Python's json accepts them; RFC 8259 does not, and a value that is not finite must never
    reach a device or a published result. Iterative: the payload may be nested deeply.
    """
    stack: list[tuple[str, Any]] = [("", body)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            return path or "payload"
        if isinstance(value, dict):
            stack.extend((f"{path}.{k}" if path else str(k), v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", v) for i, v in enumerate(value))
    return None


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "payload"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        parts.append(f"{where}: {msg}")
    return "; ".join(parts)


def _errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [{"field": ".".join(str(p) for p in e["loc"]), "error": e["type"]} for e in exc.errors()]
