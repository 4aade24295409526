"""One backoff generator for every reconnect and restart in the gateway."""

from __future__ import annotations

import random
from collections.abc import Iterator

__all__ = ["backoff_delays"]


def backoff_delays(
    initial_s: float = 0.5,
    maximum_s: float = 30.0,
    factor: float = 2.0,
    rng: random.Random | None = None,
) -> Iterator[float]:
    """Exponential delays with jitter, so a fleet of clients does not reconnect in lockstep.

    Each delay is drawn from [ceiling/2, ceiling]; the ceiling starts at `initial_s` and grows
    by `factor` up to `maximum_s`.
    """
    rand = rng or random.Random()
    ceiling = initial_s
    while True:
        yield rand.uniform(ceiling / 2, ceiling)
        ceiling = min(maximum_s, ceiling * factor)
