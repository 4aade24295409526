"""The lease a command asks for: declared by its handler, granted by the router.

A command with `ttl_s` (a setpoint, a limit, a grid limit) holds something on a device until
it is renewed or lapses, whoever sent it (control centre, site controller, web page). The
handler only applies it and says what it holds and how to withdraw it: `lease.hold(key,
withdraw)`, and `lease.end(key)` for a holding the command removed. Once the handler returns
`accepted`, the router grants (or renews) and releases those leases in the lease table; a
command that fails or is refused changes no lease. `expires_at` is the wall-clock end the
lease will have, fixed when first read so the result, the state and the lease agree.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from gateway.foundation.leases import Instant, LeaseTable, OnLapse
from gateway.foundation.model import CommandRequest, CommandResult, CommandSource

__all__ = ["LeaseTerms", "LeasedHandler", "Withdraw"]

Withdraw = OnLapse
"""`withdraw(reason)`: undo a holding whose lease lapsed (`lease_expired`, `mqtt_lost`)."""


class LeaseTerms:
    """One command's lease: its TTL and source, and what the handler declares it holds."""

    __slots__ = ("_ends", "_holds", "_since", "_table", "source", "ttl_s")

    def __init__(self, table: LeaseTable, ttl_s: float | None, source: CommandSource) -> None:
        self._table = table
        self.ttl_s = ttl_s
        """The command's `ttl_s`; None: held until replaced (no lapse)."""
        self.source = CommandSource(source)
        self._since: Instant | None = None
        self._holds: list[tuple[Hashable, Withdraw]] = []
        self._ends: list[Hashable] = []

    @property
    def expires_at(self) -> float | None:
        """Wall-clock end of the lease (None without a TTL); its TTL counts from first read."""
        if self.ttl_s is None:
            return None
        return self._start()[1] + self.ttl_s

    def hold(self, key: Hashable, withdraw: Withdraw) -> None:
        """The command applied what `key` names; `withdraw` undoes it when the lease lapses."""
        self._holds.append((key, withdraw))

    def end(self, key: Hashable) -> None:
        """The command removed what `key` held: its lease goes, with nothing to withdraw."""
        self._ends.append(key)

    def settle(self) -> None:
        """Release the ended leases and grant the held ones (the router, on `accepted`)."""
        for key in self._ends:
            self._table.release(key)
        for key, withdraw in self._holds:
            self._table.grant(key, self.ttl_s, withdraw, source=self.source, since=self._start())

    def _start(self) -> Instant:
        if self._since is None:
            self._since = self._table.now()
        return self._since


LeasedHandler = Callable[[CommandRequest, Any, LeaseTerms], Awaitable[CommandResult]]
"""`handler(request, args, lease)`: a command that may hold something under a lease."""
