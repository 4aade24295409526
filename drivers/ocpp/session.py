"""One charger's OCPP-J connection: reading frames, answering CALLs, sending commands.

The gateway speaks OCPP-J itself on top of the `ocpp` package's schemas instead of running the
package's ChargePoint loop: that loop costs several times the CPU of this one per message (it
validates in a thread and converts every key through regular expressions), does not answer
invalid JSON, answers 1.6 errors with 2.x codes, turns optional extra fields into
InternalError, and mangles 43 OCPP 2.1 field names (`dischargeLimit_L2`, ...). Here handlers
get the camelCase payload as sent and return the camelCase response.

Incoming CALLs are handled one at a time, in order (the charger waits for each answer anyway).
Commands to the charger go through a per-session queue and worker task, never from inside a
handler: OCPP-J allows one outstanding CALL per direction (1.6 §4.1.1, 2.0.1 Part 4 §4.1.1).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

import structlog
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from drivers.ocpp import ws_fast
from drivers.ocpp.core.energy import EnergyReference
from drivers.ocpp.errors import CallRefused, ChargerOffline, QueueFull
from drivers.ocpp.flood import FloodBudget
from drivers.ocpp.frames import (
    BadFrame,
    CallFrame,
    ErrorFrame,
    ErrorKind,
    ResultFrame,
    call_error,
    is_reply,
    parse_frame,
    refuse_unread,
)
from drivers.ocpp.hub import Hub
from drivers.ocpp.strict_json import FrameLimits
from drivers.ocpp.validation import (
    is_known_action,
    outgoing_violation,
    request_validator,
    violation,
)
from gateway.foundation.clock import format_ts
from gateway.foundation.metrics import MESSAGES
from gateway.foundation.model.versions import OcppVersion

__all__ = ["CallRefused", "ChargerOffline", "ChargerSession", "QueueFull", "result_frame"]

_IN = MESSAGES.labels("ocpp", "in")
_OUT = MESSAGES.labels("ocpp", "out")
_DUMPS = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode
_STRING: Callable[[str], str] = json.encoder.encode_basestring
"""How `_DUMPS` writes a string (ensure_ascii=False)."""
_THREAD_CHECK_CHARS = 64 * 1024
"""A CALL this large has its schema check run in a thread: the detailed (slow) check of an
invalid payload of thousands of values must not stall every other charger."""

Handler = Callable[[Any, dict[str, Any]], Awaitable[dict[str, Any]]]


class ChargerSession:
    HANDLERS: ClassVar[dict[str, Handler]] = {}
    """action -> handler, filled by each version's subclass."""

    def __init__(self, ws: ServerConnection, charger_id: str, version: OcppVersion, hub: Hub) -> None:
        self.ws = ws
        self.charger_id = charger_id
        self.version = version
        self.hub = hub
        self.log = structlog.get_logger("drivers.ocpp").bind(
            charger_id=charger_id, ocpp_version=version
        )
        cfg = hub.config
        self.limits = FrameLimits(cfg.max_message_elements, cfg.max_message_depth)
        rate = cfg.rate_limit
        self.budget = FloodBudget(
            rate.messages_per_s, rate.bytes_per_s, rate.burst_s, now=time.monotonic()
        )
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._queue: asyncio.Queue[_Queued] = asyncio.Queue(maxsize=cfg.max_queued_commands)
        self._worker: asyncio.Task[None] | None = None
        self.closed = asyncio.Event()
        self.last_energy_wh: dict[int, EnergyReference] = {}
        """Latest energy register per EVSE: the reference that reveals kWh/Wh mislabels."""
        self.after_reply: list[Callable[[], Awaitable[None]]] = []
        """Work a handler asks for once its answer is out (e.g. calls to the charger after
        BootNotification); run as background tasks, never inside the handler."""
        self.background: set[asyncio.Task[None]] = set()
        self.provisioned = False
        """`ocpp.chargers[].provision` was applied on this connection (provisioning.py)."""
        self.boot_lock = asyncio.Lock()
        """The work after each BootNotification runs one at a time."""

    # -- lifecycle ----------------------------------------------------------------------

    async def run(self) -> None:
        """Serve the connection until it closes."""
        try:
            while True:
                raw = await ws_fast.recv(self.ws)
                reply = await self.handle_frame(raw)
                if reply is not None:
                    await self._send(reply)
                while self.after_reply:  # what a handler asked for once its answer is out
                    self.spawn(self.after_reply.pop(0)(), "after_reply")
        except ConnectionClosed as exc:
            self.log.info("charger_disconnected", code=exc.rcvd.code if exc.rcvd else None)
        finally:
            self.closed.set()
            if self._worker is not None:
                self._worker.cancel()
            for task in list(self.background):
                task.cancel()
            for fut in self._pending.values():
                if not fut.done():
                    fut.set_exception(ChargerOffline())
            while not self._queue.empty():
                fut = self._queue.get_nowait().future
                if not fut.done():
                    fut.set_exception(ChargerOffline())
            await self._let_go_of_tasks()

    async def _let_go_of_tasks(self) -> None:
        """Wait for the cancelled command worker and background work, then drop them.

        A cancelled task keeps its error, whose traceback holds this session's frames: kept
        here, session and tasks would wait for a full collection (after a reconnect storm,
        thousands of them in the oldest generation) instead of being freed at once.
        """
        tasks = [t for t in (self._worker, *self.background) if t is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=5.0)
        self._worker = None
        self.background.clear()

    async def close(self, reason: str) -> None:
        await self.ws.close(1000, reason)
        await self.closed.wait()

    # -- incoming -----------------------------------------------------------------------

    async def handle_frame(self, raw: str | bytes) -> str | None:
        """Handle one frame from the charger; returns the reply to send (None: no reply).

        Everything but the socket: the fuzz tests drive sessions through this.
        """
        _IN.inc()
        now = time.monotonic()
        if not self.budget.admit(len(raw), now) and not (self._pending and is_reply(raw)):
            self._log_overrun(now)
            return refuse_unread(raw, "generic", self.version, "rate limit exceeded: retry later")
        frame = parse_frame(raw, self.version, self.limits)
        if type(frame) is CallFrame:
            return await self._on_call(frame, len(raw))
        if type(frame) is ResultFrame:
            self._resolve(frame.unique_id, frame.payload, None)
        elif type(frame) is ErrorFrame:
            refused = CallRefused(frame.code, frame.description, frame.details)
            self._resolve(frame.unique_id, None, refused)
        elif type(frame) is BadFrame:
            self.log.warning("bad_frame", reason=frame.reason, size=len(raw), start=repr(raw[:80]))
            return frame.reply
        else:
            self.log.debug("send_frame_ignored", action=getattr(frame, "action", None))
        return None

    def _log_overrun(self, now: float) -> None:
        overrun = self.budget.overrun_to_log(now)
        if overrun is not None:
            rate = self.hub.config.rate_limit
            self.log.warning(
                "charger_rate_limited",
                refused_messages=overrun.messages,
                refused_bytes=overrun.bytes,
                messages_per_s=rate.messages_per_s,
                bytes_per_s=rate.bytes_per_s,
            )

    async def _on_call(self, frame: CallFrame, size: int) -> str:
        action, uid = frame.action, frame.unique_id
        handler = self.HANDLERS.get(action)
        if handler is None:
            known = is_known_action(self.version, action)
            kind: ErrorKind = "not_supported" if known else "not_implemented"
            self.log.info("action_not_handled", action=action[:64], known=known)
            return call_error(uid, kind, self.version, f"{action[:64]} is not handled")
        validator = request_validator(self.version, action)
        if validator is not None:
            if size > _THREAD_CHECK_CHARS:
                problem = await asyncio.to_thread(violation, validator, frame.payload)
            else:
                problem = violation(validator, frame.payload)
            if problem is not None:
                self.log.warning("invalid_payload", action=action, problem=str(problem))
                return call_error(uid, problem.kind, self.version, str(problem))
        try:
            response = await handler(self, frame.payload)
        except Exception as exc:
            self.log.exception("handler_failed", action=action)
            description = f"{type(exc).__name__} while handling {action}"
            return call_error(uid, "internal", self.version, description)
        return result_frame(uid, response)

    def spawn(self, work: Awaitable[None], name: str) -> None:
        """Run `work` in the background for this session; cancelled when it ends."""

        async def run() -> None:
            try:
                await work
            except ChargerOffline:
                self.log.info("background_work_ended_offline", work=name)
            except Exception:
                self.log.exception("background_work_failed", work=name)

        task = asyncio.create_task(run(), name=f"ocpp-{name}-{self.charger_id}")
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    def _resolve(self, unique_id: str, payload: Any, error: Exception | None) -> None:
        fut = self._pending.pop(unique_id, None)
        if fut is None or fut.done():
            self.log.warning("unexpected_response", unique_id=unique_id)
            return
        if error is not None:
            fut.set_exception(error)
        else:
            fut.set_result(payload)

    def _send(self, text: str) -> Awaitable[None]:
        _OUT.inc()
        return ws_fast.send_text(self.ws, text)

    # -- outgoing (commands) ------------------------------------------------------------

    async def submit(self, action: str, payload: dict[str, Any], timeout_s: float) -> Any:
        """Queue a CALL to the charger; returns its CALLRESULT payload.

        Raises CallRefused (CALLERROR), TimeoutError (no answer in time) or ChargerOffline.
        """
        if self.closed.is_set():
            raise ChargerOffline()
        problem = outgoing_violation(self.version, action, payload)
        if problem is not None:
            raise ValueError(
                f"{action} payload does not match the OCPP {self.version} schema: {problem}"
            )
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        deadline = time.monotonic() + timeout_s
        try:
            self._queue.put_nowait(_Queued(action, payload, timeout_s, deadline, fut))
        except asyncio.QueueFull:
            raise QueueFull() from None
        if self._worker is None:  # started by the first command: most chargers never get one
            self._worker = asyncio.create_task(self._work(), name=f"ocpp-cmd-{self.charger_id}")
        return await fut

    async def _work(self) -> None:
        while True:
            item = await self._queue.get()
            fut = item.future
            if fut.done():
                continue
            if time.monotonic() > item.deadline:
                # Waited its whole timeout behind earlier calls: never sent late.
                fut.set_exception(TimeoutError(f"{item.action} not sent: charger busy"))
                continue
            try:
                result = await self._call(item.action, item.payload, item.timeout_s)
            except asyncio.CancelledError:
                if not fut.done():
                    fut.set_exception(ChargerOffline())
                raise
            except Exception as exc:
                if not fut.done():
                    fut.set_exception(exc)
            else:
                if not fut.done():
                    fut.set_result(result)

    async def _call(self, action: str, payload: dict[str, Any], timeout_s: float) -> Any:
        uid = str(uuid.uuid4())
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[uid] = fut
        self.log.info("command_sent", action=action, unique_id=uid)
        text = json.dumps([2, uid, action, payload], separators=(",", ":"), default=_decimal)
        try:
            # The timeout covers sending: a charger that stops reading blocks the send.
            async with asyncio.timeout(timeout_s):
                await self._send(text)
                return await fut
        except ConnectionClosed as exc:
            raise ChargerOffline() from exc
        finally:
            self._pending.pop(uid, None)

    # -- helpers for handlers -----------------------------------------------------------

    def now_s(self) -> float:
        return self.hub.clock.time()

    def now_iso(self) -> str:
        return format_ts(self.hub.clock.time())

    def publish_state(self, reason: str | None = None) -> Awaitable[None]:
        book = self.hub.book(self.charger_id)
        book.last_seen_s = self.now_s()
        return self.hub.publish_state(self.charger_id, reason)


@dataclass(slots=True)
class _Queued:
    action: str
    payload: dict[str, Any]
    timeout_s: float
    deadline: float
    """Monotonic time after which the call is no longer sent (it waited its whole timeout)."""
    future: asyncio.Future[Any]


def result_frame(uid: str, response: dict[str, Any]) -> str:
    """The CALLRESULT `[3, uid, response]`; the empty answer (MeterValues, most
    TransactionEvents) without a JSON encoder set up for it."""
    if type(response) is dict and not response:
        return f"[3,{_STRING(uid)},{{}}]"
    return _DUMPS([3, uid, response])


def _decimal(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
