"""What went over the wire, kept for tests and integrators to inspect."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["CallRejectedError", "ReceivedCall", "SentCall", "TrafficRecorder"]


class CallRejectedError(Exception):
    """The central system answered one of our CALLs with a CALLERROR."""

    def __init__(self, action: str, code: str, description: str, details: Any) -> None:
        super().__init__(f"{action}: {code} {description}")
        self.action = action
        self.code = code
        self.description = description
        self.details = details


@dataclass(frozen=True)
class ReceivedCall:
    """A CALL the central system sent us (payload as it came, camelCase)."""

    action: str
    payload: dict[str, Any]
    unique_id: str
    at: float


@dataclass
class SentCall:
    """A CALL we sent and what came back (`response` payload or `error` code)."""

    action: str
    payload: Any
    unique_id: str
    at: float
    response: dict[str, Any] | None = None
    error: str | None = None
    raw: bool = False  # sent as a raw frame, past the schema


class TrafficRecorder:
    """The latest `limit` CALLs each way; bounded so a long-running fleet does not grow."""

    def __init__(self, limit: int = 1000) -> None:
        self.received: deque[ReceivedCall] = deque(maxlen=limit)
        self.sent: deque[SentCall] = deque(maxlen=limit)
        self._pulse: asyncio.Event | None = None

    def _poke(self) -> None:
        """Wake every waiter; each re-checks its own condition."""
        if self._pulse is not None:
            self._pulse.set()
            self._pulse = None

    def record_received(self, call: ReceivedCall) -> None:
        self.received.append(call)
        self._poke()

    def record_sent(self, call: SentCall) -> None:
        self.sent.append(call)
        self._poke()

    def answered(self, call: SentCall) -> None:
        self._poke()

    def received_of(self, action: str) -> list[ReceivedCall]:
        return [c for c in self.received if c.action == action]

    def sent_of(self, action: str) -> list[SentCall]:
        return [c for c in self.sent if c.action == action]

    async def wait_received(
        self, action: str, count: int = 1, timeout_s: float = 10.0
    ) -> ReceivedCall:
        """Wait until `count` calls of `action` have arrived; return the latest."""
        await self._wait(lambda: len(self.received_of(action)) >= count, timeout_s)
        return self.received_of(action)[-1]

    async def wait_sent(self, action: str, count: int = 1, timeout_s: float = 10.0) -> SentCall:
        """Wait until `count` calls of `action` have been answered; return the latest."""

        def done() -> bool:
            answered = [c for c in self.sent_of(action) if c.response is not None or c.error]
            return len(answered) >= count

        await self._wait(done, timeout_s)
        return [c for c in self.sent_of(action) if c.response is not None or c.error][-1]

    async def _wait(self, predicate: Callable[[], bool], timeout_s: float) -> None:
        async with asyncio.timeout(timeout_s):
            while not predicate():
                if self._pulse is None:
                    self._pulse = asyncio.Event()
                await self._pulse.wait()
