"""Bounded, event-free waits shared by the fleet tests (they poll a gateway's own state)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from gateway.app import Gateway
from tests.seq_check import seq_arrived

__all__ = ["drained", "seq_arrived", "wait_until"]


async def wait_until(predicate: Callable[[], bool], timeout_s: float) -> None:
    async with asyncio.timeout(timeout_s):
        while not predicate():
            await asyncio.sleep(0.05)


async def drained(gateway: Gateway, timeout_s: float = 30.0) -> int:
    """Until the gateway's outbox is empty; the last seq it wrote."""
    await wait_until(lambda: gateway.outbox.depth == 0, timeout_s)
    return gateway.outbox.last_seq
