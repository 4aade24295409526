"""Cancelling tasks reliably.

`asyncio.wait_for` on Python 3.11 can swallow a cancellation that arrives just as the
awaited result does (CPython gh-86296). Our own code uses `asyncio.timeout` instead, but
libraries it calls (pymodbus, ocpp) do not; so cancellation is repeated until the tasks are
really done. The supervisor, the drivers' tests and the simulators stop tasks this way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

__all__ = ["cancel_and_wait"]


async def cancel_and_wait(
    tasks: Iterable[asyncio.Task[Any]], retry_s: float = 0.2, give_up_s: float | None = None
) -> list[Any]:
    """Cancel `tasks` and wait for all of them; return their results or exceptions.

    With `give_up_s`, tasks still running after that long are left behind (and reported as
    TimeoutError) rather than holding up a shutdown forever.
    """
    tasks = list(tasks)
    pending = [t for t in tasks if not t.done()]
    deadline = None if give_up_s is None else asyncio.get_running_loop().time() + give_up_s
    while pending:
        if deadline is not None and asyncio.get_running_loop().time() >= deadline:
            break
        for task in pending:
            task.cancel()
        _, still = await asyncio.wait(pending, timeout=retry_s)
        pending = list(still)
    return [_outcome(task) for task in tasks]


def _outcome(task: asyncio.Task[Any]) -> Any:
    if not task.done():
        return TimeoutError("task did not stop")
    if task.cancelled():
        return asyncio.CancelledError()
    return task.exception() or task.result()
