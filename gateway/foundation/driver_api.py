"""What a driver gets from the gateway, and what the gateway expects of a driver."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from gateway.foundation.clock import Clock
from gateway.foundation.commands.router import CommandRouter
from gateway.foundation.config import Config
from gateway.foundation.leases import LeaseTable
from gateway.foundation.recording import RecordSink
from gateway.foundation.uploads import UploadLinks

__all__ = ["Driver", "DriverContext"]


@dataclass(frozen=True)
class DriverContext:
    config: Config
    recorder: RecordSink
    router: CommandRouter
    leases: LeaseTable
    clock: Clock
    state_dir: Path
    uploads: UploadLinks | None = None
    """One-time upload links on the gateway's HTTP server (None without one)."""


class Driver(Protocol):
    """A protocol adapter run by the supervisor.

    `start` binds listening sockets and fails fast (the CLI turns an OSError into a one-line
    reason and a non-zero exit); `run` works until cancelled; `stop` ends sessions gracefully
    so their last records still reach the outbox.
    """

    name: str

    async def start(self) -> None: ...

    async def run(self) -> None: ...

    async def stop(self) -> None: ...
