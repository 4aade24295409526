"""A charger session's websockets I/O alone: receive a frame, send the reply, CPU per message.

A websockets server with the OCPP endpoint's settings (`drivers/ocpp/server.py`: queue, write
limit, no compression, keepalive on) answers every frame with a fixed CALLRESULT, either
through the connection's own `recv()`/`send()` (`ref`) or through `drivers/ocpp/ws_fast.py`
(`fast`: its connection class, which parses whole frames itself, and its recv and send). K charge points on loopback send 1.6 MeterValues one after the other, as real
chargers do. Counted: the server process's user + system CPU from /proc per message, or with
`--callgrind` its instructions per message under valgrind (the same figure whatever else the
machine runs; the difference of two runs, N and 2N messages, so start-up cancels out).

    .venv/bin/python -m bench.ws_io [--messages 20000] [--chargers 10] [--repeat 5]
    .venv/bin/python -m bench.ws_io --callgrind [--messages 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
from pathlib import Path

from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from drivers.ocpp import ws_fast

ROOT = Path(__file__).resolve().parents[1]

REPLY = '[3,"m","{}"]'
MODES = ("ref", "fast")


async def ref_handler(ws: ServerConnection) -> None:
    while True:
        await ws.recv()
        await ws.send(REPLY)


async def fast_handler(ws: ServerConnection) -> None:
    while True:
        await ws_fast.recv(ws)
        await ws_fast.send_text(ws, REPLY)


async def serve_until_terminated(mode: str, port: int, max_queue: int, write_limit: int) -> None:
    """The server process: imports no more than it serves with (it may run under valgrind)."""
    handler = ref_handler if mode == "ref" else fast_handler
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with serve(
        handler,
        "127.0.0.1",
        port,
        max_queue=max_queue,
        write_limit=write_limit,
        compression=None,
        create_connection=ws_fast.FastConnection if mode == "fast" else ServerConnection,
    ):
        print("ready", flush=True)
        await stop


async def charger(url: str, count: int) -> None:
    from bench.ocpp_pipeline import v16_message

    async with connect(url, ping_interval=None, compression=None) as ws:
        frames = [v16_message(1, i) for i in range(count)]
        for frame in frames:
            await ws.send(frame)
            await ws.recv()


async def load(port: int, chargers: int, per_charger: int) -> None:
    url = f"ws://127.0.0.1:{port}/cp"
    await asyncio.gather(*(charger(url, per_charger) for _ in range(chargers)))


async def start_server(mode: str, port: int, wrapper: list[str]) -> asyncio.subprocess.Process:
    from drivers.ocpp.server import MAX_QUEUE, WRITE_LIMIT

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    limits = ["--max-queue", str(MAX_QUEUE), "--write-limit", str(WRITE_LIMIT)]
    proc = await asyncio.create_subprocess_exec(
        *wrapper, sys.executable, "-m", "bench.ws_io", "--serve", mode, "--port", str(port),
        *limits,
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.stdout is not None
    await proc.stdout.readline()  # "ready"
    return proc


async def stop_server(proc: asyncio.subprocess.Process) -> None:
    proc.send_signal(signal.SIGTERM)
    await proc.wait()


async def cpu_per_message(mode: str, chargers: int, per_charger: int) -> float:
    from bench.common import process_cpu_s
    from gateway.demo.broker import free_port

    port = free_port()
    proc = await start_server(mode, port, [])
    try:
        await load(port, chargers, 50)  # warm-up
        cpu0 = process_cpu_s(proc.pid)
        await load(port, chargers, per_charger)
        return (process_cpu_s(proc.pid) - cpu0) / (chargers * per_charger)
    finally:
        await stop_server(proc)


async def instructions(mode: str, chargers: int, per_charger: int, out: Path) -> int:
    from gateway.demo.broker import free_port

    port = free_port()
    wrapper = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
    proc = await start_server(mode, port, wrapper)
    try:
        await load(port, chargers, per_charger)
    finally:
        await stop_server(proc)
    for line in out.read_text().splitlines():
        if line.startswith("summary:") or line.startswith("totals:"):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {out}")


async def main(args: argparse.Namespace) -> None:
    n = args.chargers * args.messages
    if args.callgrind:
        with tempfile.TemporaryDirectory() as tmp:
            for mode in MODES:
                small = await instructions(mode, args.chargers, args.messages, Path(tmp) / "a")
                large = await instructions(mode, args.chargers, 2 * args.messages, Path(tmp) / "b")
                print(f"{mode:5} {(large - small) / n:10.0f} instructions/msg", flush=True)
        return
    runs: dict[str, list[float]] = {mode: [] for mode in MODES}
    for _ in range(args.repeat):
        for mode in MODES:  # interleaved: the machine's load moves both alike
            runs[mode].append(await cpu_per_message(mode, args.chargers, args.messages))
    for mode in MODES:
        values = sorted(v * 1e6 for v in runs[mode])
        spread = f"{values[0]:.1f}-{values[-1]:.1f}"
        print(f"{mode:5} {statistics.median(values):7.1f} µs/msg (runs {spread})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000, help="per charger")
    parser.add_argument("--chargers", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--callgrind", action="store_true")
    parser.add_argument("--serve", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--max-queue", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--write-limit", type=int, help=argparse.SUPPRESS)
    cli = parser.parse_args()
    if cli.serve:
        asyncio.run(serve_until_terminated(cli.serve, cli.port, cli.max_queue, cli.write_limit))
    else:
        asyncio.run(main(cli))
