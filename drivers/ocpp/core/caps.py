"""Limits from several sources on one EVSE: the lowest is the one in force.

The control centre's cap (`command`), the site controller's share (`controller`) and the
charger's rating (`rating`, from the config) are kept apart; the charger gets one profile,
the lowest of them (compared in watts; a limit given in amperes counts as amperes x voltage
x phases). Lifting one source's limit leaves the others in force: the profile then follows
the next lowest, and is cleared only when no source limits the EVSE any more.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["RATING", "SourceLimit", "in_force"]

RATING = "rating"
"""The config's rating, beside the `CommandSource` values a limit is filed under."""


@dataclass(frozen=True, slots=True)
class SourceLimit:
    charger_id: str
    evse: int
    power_w: float | None
    current_a: float | None
    expires_at: float | None
    """Wall-clock epoch seconds its TTL ends; None: held until lifted."""
    source: str = "command"

    def watts(self, watts_per_amp: float) -> float:
        if self.power_w is not None:
            return self.power_w
        return (self.current_a or 0.0) * watts_per_amp


def in_force(
    limits: Iterable[SourceLimit], rating_w: float, watts_per_amp: float
) -> SourceLimit | None:
    """The lowest limit on one EVSE, the rating included; None when no source limits it."""
    entries = list(limits)
    if not entries:
        return None
    lowest = min(entries, key=lambda lim: (lim.watts(watts_per_amp), lim.source))
    if lowest.watts(watts_per_amp) > rating_w:
        return SourceLimit(lowest.charger_id, lowest.evse, rating_w, None, None, RATING)
    return lowest


def profile_ttl_s(limits: Iterable[SourceLimit], now_s: float) -> float | None:
    """How long the charger should keep the combined profile if the gateway dies: as long as
    the longest-lived source, or for good when any source has no TTL."""
    ends = [lim.expires_at for lim in limits]
    if not ends or any(end is None for end in ends):
        return None
    return max(0.0, max(end for end in ends if end is not None) - now_s)
