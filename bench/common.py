"""Helpers shared by the benchmarks: CPU time of a process, a counting MQTT subscriber, a
Python process started from a checkout, and `pilebridge run` on a config of the bench's own."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import aiomqtt
import yaml

from gateway.demo.broker import free_port

__all__ = [
    "ROOT",
    "CountingSubscriber",
    "ExternalSubscriber",
    "GatewayDaemon",
    "process_cpu_s",
    "spawn_python",
]

ROOT = Path(__file__).resolve().parents[1]
"""This checkout."""

_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (and its threads) from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


class CountingSubscriber:
    """Counts messages on a topic filter; `wait(n)` returns when n have arrived."""

    def __init__(
        self, host: str, port: int, topic: str, on_message: Callable[[bytes], None] | None = None
    ) -> None:
        self.host, self.port, self.topic = host, port, topic
        self.count = 0
        self._on_message = on_message
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self._ready.wait(), 10)

    async def _run(self) -> None:
        async with aiomqtt.Client(
            self.host, self.port, protocol=aiomqtt.ProtocolVersion.V5
        ) as client:
            await client.subscribe(self.topic, qos=1)
            self._ready.set()
            async for message in client.messages:
                self.count += 1
                if self._on_message:
                    self._on_message(message.payload)  # type: ignore[arg-type]

    async def wait(self, n: int, timeout_s: float = 120) -> None:
        async with asyncio.timeout(timeout_s):
            while self.count < n:
                await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await self._task


class ExternalSubscriber:
    """`mosquitto_sub -C n` in its own process, so its CPU is not counted against ours."""

    def __init__(self, host: str, port: int, topic: str, count: int) -> None:
        self._args = [
            "mosquitto_sub",
            "-h",
            host,
            "-p",
            str(port),
            "-t",
            topic,
            "-q",
            "1",
            "-C",
            str(count),
            "-V",
            "5",
        ]
        self._proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self._proc = await asyncio.create_subprocess_exec(
            *self._args, stdout=asyncio.subprocess.DEVNULL
        )
        await asyncio.sleep(0.3)  # let it subscribe

    async def wait(self, timeout_s: float = 300) -> None:
        assert self._proc is not None
        await asyncio.wait_for(self._proc.wait(), timeout_s)


async def spawn_python(
    *args: str,
    root: Path = ROOT,
    stdout: int = asyncio.subprocess.PIPE,
    wrapper: Sequence[str] = (),
) -> asyncio.subprocess.Process:
    """`python ARGS` run from the checkout `root` (its code first on the path), under
    `wrapper` (e.g. valgrind) if given."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return await asyncio.create_subprocess_exec(
        *wrapper,
        sys.executable,
        *args,
        cwd=root,
        env=env,
        stdout=stdout,
        stderr=asyncio.subprocess.DEVNULL,
    )


class GatewayDaemon(ABC):
    """`pilebridge run` in its own process on a config written to a fresh state directory.

    A bench builds the config in `__init__` (after this one: `state`, the two ports) and says
    in `ready()` when the daemon answers; `start()` polls it `start_tries` times, 50 ms apart.
    """

    start_tries = 400
    wrapper: Sequence[str] = ()
    """Runs the daemon under this (e.g. valgrind); set before `start()`."""

    def __init__(
        self, prefix: str, *, root: Path = ROOT, stdout: int = asyncio.subprocess.PIPE
    ) -> None:
        self.root, self._stdout = root, stdout
        self.state = Path(tempfile.mkdtemp(prefix=prefix))
        self.ocpp_port, self.http_port = free_port(), free_port()
        self.path = self.state / "bench.yaml"
        self.proc: asyncio.subprocess.Process | None = None

    def write_config(self, config: dict[str, Any]) -> None:
        self.path.write_text(yaml.safe_dump(config))

    @abstractmethod
    async def ready(self) -> None:
        """Return once the daemon answers; raise OSError while it does not."""

    async def start(self) -> None:
        self.proc = await spawn_python(
            "-m",
            "gateway",
            "run",
            "-c",
            str(self.path),
            root=self.root,
            stdout=self._stdout,
            wrapper=self.wrapper,
        )
        for _ in range(self.start_tries):
            try:
                await self.ready()
                return
            except OSError:
                await asyncio.sleep(0.05)
        raise RuntimeError("gateway did not start")

    async def stop(self) -> None:
        assert self.proc is not None
        self.proc.terminate()
        await self.proc.wait()
