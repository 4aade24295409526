"""A raw websocket charger that sends frames exactly as written, and the strict-JSON check
every published record must pass (what the outbox writes: UTF-8, no NaN/Infinity)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterable
from typing import Any
from urllib.parse import quote

from websockets.asyncio.client import ClientConnection, connect

from gateway.foundation.model import Record
from gateway.payloads import to_message
from gateway.topics import Topics

SUBPROTOCOL = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1", "2.1": "ocpp2.1"}
BOOT = {
    "1.6": {"chargePointVendor": "Acme", "chargePointModel": "M"},
    "2.0.1": {"reason": "PowerUp", "chargingStation": {"vendorName": "Acme", "model": "M"}},
}
BOOT["2.1"] = BOOT["2.0.1"]


class RawCharger:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self._n = 0

    async def exchange(self, text: str | bytes, timeout: float = 10.0) -> list[Any]:
        """Send a frame as is; the gateway's reply, parsed."""
        await self.ws.send(text)
        async with asyncio.timeout(timeout):
            return list(json.loads(await self.ws.recv()))

    async def call(self, action: str, payload: Any, timeout: float = 10.0) -> list[Any]:
        self._n += 1
        frame = json.dumps([2, f"m-{self._n}", action, payload])
        return await self.exchange(frame, timeout)

    async def call_text(self, action: str, payload_text: str) -> list[Any]:
        """A CALL whose payload is given as JSON text (NaN, escapes, ... exactly as written)."""
        self._n += 1
        return await self.exchange(f'[2,"m-{self._n}","{action}",{payload_text}]')

    async def still_serving(self) -> None:
        reply = await self.call("Heartbeat", {})
        assert reply[0] == 3 and "currentTime" in reply[2], reply


@contextlib.asynccontextmanager
async def raw_charger(
    port: int, charger_id: str, version: str = "1.6", **connect_args: Any
) -> AsyncIterator[RawCharger]:
    url = f"ws://127.0.0.1:{port}/ocpp/{quote(charger_id, safe='')}"
    async with connect(
        url,
        subprotocols=[SUBPROTOCOL[version]],
        open_timeout=10,
        **connect_args,  # type: ignore[list-item]
    ) as ws:
        yield RawCharger(ws)


def assert_strict_json(records: Iterable[Record]) -> int:
    """Every record serialises as the outbox does it, strictly; returns how many were checked."""
    topics = Topics("t", "site")
    n = 0
    for record in records:
        message = to_message(record, topics)
        json.dumps(message.body, allow_nan=False, ensure_ascii=False).encode("utf-8")
        n += 1
    return n
