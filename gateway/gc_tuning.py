"""Garbage collector settings for a long-running daemon with a large, stable heap.

CPython's full collection walks every tracked object; at thousands of chargers that is
100+ ms during which no charger is answered and no command sent. After start-up the
configuration, models, schemas and imported modules never become garbage, so they are
frozen (`gc.freeze()`: moved to a generation no collection visits).

A young collection walks every object still alive in the young generation, and at a site
most of them live on: each charger message replaces records, states and queue entries that
outlive a collection, while freeing the older ones counts against the trigger. A young
threshold of 20,000 let the young generation reach 30,000-90,000 objects, walked in 20-250 ms
on a busy 2-core box at 5,000 chargers, and the middle generation 300,000 (245 ms). So the
young threshold is small (pauses well under a millisecond), the middle generation is
collected every 5 young ones (10-30 ms), and a full collection stays about as rare as before:
after 1,000 middle ones (tens of minutes at 5,000 chargers) and only once the old generation
grew by a quarter (CPython's rule). Dead chargers' sessions and connections are freed by
reference counting (drivers/ocpp/ws_cycles.py), so they do not wait for it.

Every collection's pause is measured (`pilebridge_gc_pause_seconds` by generation), so a
latency tail can be told apart from a stall of the machine.
"""

from __future__ import annotations

import gc
import time
from typing import Any

import structlog

from gateway.foundation.metrics import GC_PAUSE_SECONDS

__all__ = ["THRESHOLDS", "measure_gc_pauses", "tune_gc_after_startup"]

log = structlog.get_logger("gateway")

THRESHOLDS = (2_000, 5, 1_000)
"""(young, middle, old): CPython's defaults are (700, 10, 10)."""


def tune_gc_after_startup() -> int:
    """Collect once, freeze what start-up built, set the thresholds; returns objects frozen."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    measure_gc_pauses()
    frozen = gc.get_freeze_count()
    log.info("gc_tuned", frozen_objects=frozen, thresholds=list(THRESHOLDS))
    return frozen


_HISTOGRAMS = [GC_PAUSE_SECONDS.labels(str(g)) for g in range(3)]
_started = [0.0]


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _started[0] = time.perf_counter()
    else:
        _HISTOGRAMS[info["generation"]].observe(time.perf_counter() - _started[0])


def measure_gc_pauses() -> None:
    """Observe every collection's duration into the pause histogram (once per process)."""
    if _on_gc not in gc.callbacks:
        gc.callbacks.append(_on_gc)
