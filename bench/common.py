"""Helpers shared by the benchmarks: CPU time of a process, a counting MQTT subscriber."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable

import aiomqtt

__all__ = ["CountingSubscriber", "ExternalSubscriber", "process_cpu_s"]

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
