"""Charge points on the other side of the wire: `ocpp` library ChargePoints over websockets.

The library does the framing, routing and schema validation of what the gateway sends (so a
payload the standard forbids fails the test); `raw()` sends payloads as given, so tests can
send what real chargers send, quirks included.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import ssl
import uuid
from collections.abc import AsyncIterator
from typing import Any

from ocpp.charge_point import ChargePoint as LibraryChargePoint
from ocpp.exceptions import OCPPError
from ocpp.messages import CallError, MessageType, validate_payload
from ocpp.v16 import ChargePoint as Cp16
from ocpp.v21 import ChargePoint as Cp21
from ocpp.v201 import ChargePoint as Cp201
from websockets.asyncio.client import ClientConnection, connect

SUBPROTOCOL = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1", "2.1": "ocpp2.1"}
LIBRARY_CLASS: dict[str, type[LibraryChargePoint]] = {"1.6": Cp16, "2.0.1": Cp201, "2.1": Cp21}

DEFAULT_ANSWERS: dict[str, dict[str, Any]] = {
    "UnlockConnector": {"status": "Unlocked"},
}


class Peer:
    """A charge point: records the CALLs it gets and answers them as told."""

    def __init__(self, charger_id: str, ws: ClientConnection, version: str) -> None:
        self.version = version
        self.ws = ws
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.answers: dict[str, dict[str, Any]] = dict(DEFAULT_ANSWERS)
        self.silent: set[str] = set()
        self.errors: dict[str, str] = {}
        """action -> CALLERROR code to answer with."""
        self.hold: asyncio.Event | None = None
        """When set, answers wait until the event is set (to observe serialisation)."""
        self.got_call = asyncio.Event()
        self.tasks: set[asyncio.Task[None]] = set()
        peer = self

        class _Cp(LIBRARY_CLASS[version]):  # type: ignore[valid-type,misc]
            async def _handle_call(self, msg: Any) -> None:
                try:
                    await validate_payload(msg, self._ocpp_version)
                except OCPPError as exc:
                    peer.received.append(("INVALID:" + msg.action, msg.payload))
                    peer.got_call.set()
                    await self._send(msg.create_call_error(exc).to_json())
                    return
                peer.received.append((msg.action, msg.payload))
                peer.got_call.set()
                if msg.action in peer.silent:
                    return
                if peer.hold is not None:
                    # Answer later, but keep reading: a CALL sent meanwhile is seen at once.
                    task = asyncio.create_task(self._answer_after(peer.hold, msg))
                    peer.tasks.add(task)
                    return
                await self._answer(msg)

            async def _answer_after(self, hold: asyncio.Event, msg: Any) -> None:
                await hold.wait()
                await self._answer(msg)

            async def _answer(self, msg: Any) -> None:
                if msg.action in peer.errors:
                    error = CallError(msg.unique_id, peer.errors[msg.action], "refused", {})
                    await self._send(error.to_json())
                    return
                answer = peer.answers.get(msg.action, {"status": "Accepted"})
                await self._send(msg.create_call_result(answer).to_json())

        self.cp = _Cp(charger_id, ws, response_timeout=5)

    async def raw(self, action: str, payload: Any, timeout: float = 5.0) -> Any:
        """Send a CALL as given; the CALLRESULT payload, or the CallError itself."""
        uid = str(uuid.uuid4())
        async with self.cp._call_lock:
            await self.ws.send(json.dumps([2, uid, action, payload]))
            msg = await self.cp._get_specific_response(uid, timeout)
        if msg.message_type_id == MessageType.CallError:
            return msg
        return msg.payload

    async def send_text(self, text: str | bytes, timeout: float = 5.0) -> Any:
        """Send a frame as is and return the next frame the gateway answers with (parsed)."""
        await self.ws.send(text)
        async with asyncio.timeout(timeout):
            return await self.cp._response_queue.get()

    async def wait_call(self, action: str, timeout: float = 5.0) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                for name, payload in self.received:
                    if name == action:
                        self.received.remove((name, payload))
                        return payload
                self.got_call.clear()
                await self.got_call.wait()

    async def boot(self) -> Any:
        if self.version == "1.6":
            return await self.raw(
                "BootNotification",
                {
                    "chargePointVendor": "Acme",
                    "chargePointModel": "Wallbox-22",
                    "firmwareVersion": "1.2.3",
                },
            )
        return await self.raw(
            "BootNotification",
            {
                "reason": "PowerUp",
                "chargingStation": {
                    "vendorName": "Acme",
                    "model": "DC-50",
                    "firmwareVersion": "2.0",
                },
            },
        )


def is_error(reply: Any, code: str | None = None) -> bool:
    return isinstance(reply, CallError) and (code is None or reply.error_code == code)


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@contextlib.asynccontextmanager
async def charger(
    port: int,
    charger_id: str,
    version: str = "1.6",
    *,
    path: str | None = None,
    headers: dict[str, str] | None = None,
    subprotocols: list[str] | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> AsyncIterator[Peer]:
    """A connected charge point running its library receive loop."""
    from urllib.parse import quote

    scheme = "wss" if ssl_context else "ws"
    url = f"{scheme}://127.0.0.1:{port}{path or '/ocpp/' + quote(charger_id, safe='')}"
    offered = subprotocols if subprotocols is not None else [SUBPROTOCOL[version]]
    async with connect(
        url,
        subprotocols=offered or None,  # type: ignore[arg-type]
        additional_headers=headers,
        ssl=ssl_context,
        open_timeout=5,
    ) as ws:
        peer = Peer(charger_id, ws, version)
        task = asyncio.create_task(peer.cp.start())
        try:
            yield peer
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
