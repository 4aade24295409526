"""One WebSocket connection's OCPP-J session, on the `ocpp` library's ChargePoint.

Adds what the library leaves out for a simulator: CALLs from plain camelCase dicts (so the
payload recorded is the payload sent, and 2.1 field names survive), raw frames for fault
injection, a record of every CALL received, "silence", and a NotImplemented / NotSupported
CALLERROR for every request without a handler in every version (the library sends nothing
for unhandled 2.1 requests).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar, cast

from ocpp.charge_point import ChargePoint
from ocpp.exceptions import NotImplementedError as OcppNotImplemented
from ocpp.exceptions import NotSupportedError as OcppNotSupported
from ocpp.messages import Call, MessageType, validate_payload
from ocpp.routing import on

from simulators.charger.operations import FollowUp
from simulators.charger.recorder import CallRejectedError, ReceivedCall, SentCall
from simulators.charger.station_view import Station

__all__ = ["OcppLink", "handles"]

_Handler = TypeVar("_Handler", bound=Callable[..., Any])


def handles(action: str) -> Callable[[_Handler], _Handler]:
    """`ocpp.routing.on`, typed so that handlers keep their signatures for mypy."""
    return cast(Callable[[_Handler], _Handler], on(action))


class OcppLink(ChargePoint):  # type: ignore[misc]
    """Base for the per-version links; subclasses set the version and add @on handlers."""

    known_actions: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, station: Station, connection: Any) -> None:
        super().__init__(
            station.config.charger_id,
            connection,
            response_timeout=station.config.response_timeout_s,
        )
        self.station = station
        self._raw_replies: dict[str, asyncio.Future[list[Any]]] = {}
        self._raw_payloads: dict[str, dict[str, Any]] = {}
        self._followups: dict[str, FollowUp] = {}

    # -- sending ---------------------------------------------------------------------------

    async def request(
        self, action: str, payload: dict[str, Any], *, validate: bool = True
    ) -> dict[str, Any]:
        """Send a CALL and return the CALLRESULT payload; CallRejectedError on CALLERROR."""
        await self.station.faults.wait_unsilenced()
        call = Call(unique_id=str(uuid.uuid4()), action=action, payload=payload)
        if validate:
            await validate_payload(call, self._ocpp_version)
        record = SentCall(action, payload, call.unique_id, self.station.clock.now())
        async with self._call_lock:
            self.station.recorder.record_sent(record)
            await self._send(call.to_json())
            response = await self._get_specific_response(call.unique_id, self._response_timeout)
        if response.message_type_id == MessageType.CallError:
            record.error = str(response.error_code)
            self.station.recorder.answered(record)
            raise CallRejectedError(
                action, response.error_code, response.error_description, response.error_details
            )
        record.response = dict(response.payload)
        self.station.recorder.answered(record)
        return record.response

    async def send_raw(
        self, frame: str, *, reply_to: str | None = None, timeout_s: float = 5.0
    ) -> list[Any] | None:
        """Send a frame as is; if it is a CALL with id `reply_to`, wait for the answer frame."""
        future: asyncio.Future[list[Any]] | None = None
        if reply_to is not None:
            future = asyncio.get_running_loop().create_future()
            self._raw_replies[reply_to] = future
        await self._send(frame)
        if future is None:
            return None
        try:
            async with asyncio.timeout(timeout_s):
                return await future
        except TimeoutError:
            return None
        finally:
            self._raw_replies.pop(reply_to or "", None)

    # -- receiving -------------------------------------------------------------------------

    async def route_message(self, raw_msg: str | bytes) -> None:
        text = raw_msg.decode() if isinstance(raw_msg, bytes) else raw_msg
        try:
            frame = json.loads(text)
        except ValueError:
            frame = None
        if isinstance(frame, list) and len(frame) >= 3:
            if frame[0] == MessageType.Call and len(frame) >= 4:
                payload = frame[3] if isinstance(frame[3], dict) else {}
                self._raw_payloads[str(frame[1])] = payload
                self.station.recorder.record_received(
                    ReceivedCall(str(frame[2]), payload, str(frame[1]), self.station.clock.now())
                )
            elif str(frame[1]) in self._raw_replies:
                future = self._raw_replies.pop(str(frame[1]))
                if not future.done():
                    future.set_result(frame)
                return
        if self.station.faults.silent:
            if isinstance(frame, list) and len(frame) >= 2:
                self._raw_payloads.pop(str(frame[1]), None)
            return
        await super().route_message(text)

    async def _handle_call(self, msg: Any) -> Any:
        handlers = self.route_map.get(msg.action, {})
        try:
            if "_on_action" not in handlers:
                if msg.action in self.known_actions:
                    raise OcppNotImplemented(details={"cause": f"{msg.action} not implemented"})
                raise OcppNotSupported(details={"cause": f"{msg.action} not supported"})
            result = await super()._handle_call(msg)
        finally:
            self._raw_payloads.pop(str(msg.unique_id), None)
        followup = self._followups.pop(str(msg.unique_id), None)
        if followup is not None:  # the CALLRESULT is out; now the CALLs it leads to
            self.station.spawn(followup(), name=str(msg.action))
        return result

    def later(self, unique_id: str, followup: FollowUp | None) -> None:
        """Run `followup` once the answer to CALL `unique_id` has been sent."""
        if followup is not None:
            self._followups[unique_id] = followup

    async def _get_specific_response(self, unique_id: str, timeout_s: float) -> Any:
        """The response to CALL `unique_id`, skipping stale ones; TimeoutError after `timeout_s`.

        Replaces the library's version, whose `asyncio.wait_for` (Python 3.11) can swallow a
        cancellation that coincides with a response and leave a stopped task running.
        """
        async with asyncio.timeout(timeout_s):
            while True:
                response = await self._response_queue.get()
                if response.unique_id == unique_id:
                    return response
                self.logger.warning("Ignoring response with unknown unique id: %s", response)

    def raw_payload(self, unique_id: str) -> dict[str, Any]:
        """The camelCase payload of the CALL being handled (handlers parse this, not kwargs)."""
        return self._raw_payloads.get(unique_id, {})

    # -- connection ------------------------------------------------------------------------

    @property
    def subprotocol(self) -> str | None:
        return getattr(self._connection, "subprotocol", None)

    def abort(self) -> None:
        """Drop the TCP connection without a closing handshake, like a cut cable."""
        transport = getattr(self._connection, "transport", None)
        if transport is not None:
            transport.abort()

    async def close(self) -> None:
        await self._connection.close()
