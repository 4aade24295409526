"""Cancelling tasks reliably.

`asyncio.wait_for` on Python 3.11 can swallow a cancellation that arrives just as the
awaited result does (CPython gh-86296). The simulator avoids it (`asyncio.timeout` instead),
but code it calls may not; so cancellation is repeated until the tasks are really done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

__all__ = ["cancel_and_wait"]


async def cancel_and_wait(tasks: Iterable[asyncio.Task[Any]], retry_s: float = 0.2) -> list[Any]:
    """Cancel `tasks` and wait for all of them; return their results or exceptions."""
    tasks = list(tasks)
    pending = [t for t in tasks if not t.done()]
    while pending:
        for task in pending:
            task.cancel()
        _, still = await asyncio.wait(pending, timeout=retry_s)
        pending = list(still)
    return [
        task.exception() or task.result() if not task.cancelled() else asyncio.CancelledError()
        for task in tasks
    ]
