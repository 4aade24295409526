"""What a driver gets from the gateway, and what the gateway expects of a driver."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from gateway.foundation.clock import Clock
from gateway.foundation.commands.leasing import Withdraw
from gateway.foundation.commands.router import CommandRouter
from gateway.foundation.config import Config
from gateway.foundation.model import CommandSource
from gateway.foundation.recording import RecordSink
from gateway.foundation.uploads import UploadLinks

__all__ = ["Driver", "DriverContext", "DriverLeases"]


class DriverLeases(Protocol):
    """What a driver may do with leases outside a command (the gateway's lease table).

    A command's lease is granted by the router (`CommandRouter.register_leased`); these two
    cover what happens without a command: a holding restored from the driver's own storage
    after a restart, and one the device dropped by itself.
    """

    def resume(
        self, key: Hashable, expires_at: float | None, on_lapse: Withdraw, *, source: CommandSource
    ) -> object:
        """Keep withdrawing a stored holding at its stored wall-clock end (None: no end)."""
        ...

    def ended(self, key: Hashable) -> None:
        """The device ended the holding itself (a TxProfile with its transaction)."""
        ...


@dataclass(frozen=True)
class DriverContext:
    config: Config
    recorder: RecordSink
    router: CommandRouter
    leases: DriverLeases
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
