"""Baseline central systems for the OCPP pipeline benchmark, run as their own processes.

- `raw`:  websockets server that parses each CALL and answers an empty CALLRESULT: the floor.
- `ocpp`: the bare `ocpp` library (v1.6 ChargePoint, one MeterValues handler that does nothing):
          what the library alone spends on a message, before any gateway work.

Usage: python -m bench.baselines raw|ocpp PORT   (prints "ready" when listening)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from typing import Any

import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action
from websockets.asyncio.server import ServerConnection, serve


async def raw_handler(ws: ServerConnection) -> None:
    async for frame in ws:
        message = json.loads(frame)
        await ws.send(json.dumps([3, message[1], {}]))


class BareChargePoint(ChargePoint):  # type: ignore[misc]
    @on(Action.meter_values)
    def on_meter_values(self, **_: Any) -> call_result.MeterValues:
        return call_result.MeterValues()

    @on(Action.status_notification)
    def on_status(self, **_: Any) -> call_result.StatusNotification:
        return call_result.StatusNotification()

    @on(Action.boot_notification)
    def on_boot(self, **_: Any) -> call_result.BootNotification:
        return call_result.BootNotification(
            current_time="2026-01-01T00:00:00Z", interval=300, status="Accepted"
        )


async def ocpp_handler(ws: ServerConnection) -> None:
    cp = BareChargePoint(ws.request.path.strip("/").split("/")[-1] if ws.request else "cp", ws)
    with contextlib.suppress(websockets.ConnectionClosed):
        await cp.start()


async def main(kind: str, port: int) -> None:
    handler = raw_handler if kind == "raw" else ocpp_handler
    async with serve(handler, "127.0.0.1", port, subprotocols=["ocpp1.6"], ping_interval=None):  # type: ignore[list-item]
        print("ready", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
