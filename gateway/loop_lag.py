"""How late the event loop runs what is due: the latency every charger and command shares.

A task asks to wake every `interval_s` and records how much later it actually ran into
`pilebridge_event_loop_lag_seconds`. Lag comes from work that holds the loop (a long
collection, a large synchronous step) or from a machine too busy to schedule the process; the
GC pause histogram beside it tells the two apart.
"""

from __future__ import annotations

import asyncio

from gateway.foundation.metrics import EVENT_LOOP_LAG_SECONDS

__all__ = ["watch_loop_lag"]


async def watch_loop_lag(interval_s: float = 0.1) -> None:
    """Run until cancelled, observing each wake-up's delay."""
    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + interval_s
        await asyncio.sleep(interval_s)
        EVENT_LOOP_LAG_SECONDS.observe(max(0.0, loop.time() - due))
