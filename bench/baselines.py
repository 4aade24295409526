"""The floor for the OCPP pipeline benchmark, run as its own process.

`raw`: a websockets server that parses each CALL and answers a CALLRESULT -- what any Python
central system pays per message before doing anything with it. (A StartTransaction gets a
transaction id, so the charger can go on as it would with a real central system.) It declines
permessage-deflate as the gateway does by default (`ocpp.compression`): the bench's chargers
offer it, and a floor that compressed every frame both ways cost about a fifth more per
message (67 against 55 us for a 1.6 MeterValues), a weaker baseline than the same wire.

Usage: python -m bench.baselines raw PORT   (prints "ready" when listening)
"""

from __future__ import annotations

import asyncio
import json
import sys

from websockets.asyncio.server import ServerConnection, serve


async def raw_handler(ws: ServerConnection) -> None:
    async for frame in ws:
        message = json.loads(frame)
        payload = {"transactionId": 1} if message[2] == "StartTransaction" else {}
        await ws.send(json.dumps([3, message[1], payload]))


async def main(port: int) -> None:
    subprotocols = ["ocpp1.6", "ocpp2.0.1", "ocpp2.1"]
    async with serve(
        raw_handler,
        "127.0.0.1",
        port,
        subprotocols=subprotocols,  # type: ignore[arg-type]
        ping_interval=None,
        compression=None,
    ):
        print("ready", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    if sys.argv[1] != "raw":
        raise SystemExit("usage: python -m bench.baselines raw PORT")
    asyncio.run(main(int(sys.argv[2])))
