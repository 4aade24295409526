"""What the poll loop needs to know about one device, whichever way it was described."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

from drivers.modbus.blocks import ReadBlock, coalesce
from drivers.modbus.control import Control
from drivers.modbus.poll_plan import PollPlan
from drivers.modbus.signals import Signal

__all__ = ["DeviceProfile"]


@dataclass(frozen=True)
class DeviceProfile:
    kind: Literal["storage", "meter"]
    source: str
    """`sunspec 1/701/704/713/802` or the register-map file, for state and logs."""
    signals: tuple[Signal, ...]
    """Telemetry, in fallback order (the first signal of a name with a value wins)."""
    identity: tuple[Signal, ...] = ()
    """Read once per connection: manufacturer, model, serial, firmware."""
    control: Control | None = None
    max_gap: int = 0
    """Unneeded registers a block read may span (SunSpec maps are dense: reading through is safe)."""

    def poll_blocks(self) -> list[ReadBlock]:
        """The reads of one poll."""
        return list(self.poll_plan.blocks)

    @functools.cached_property
    def poll_plan(self) -> PollPlan:
        """The reads of one poll and how to decode them (worked out once: the profile never changes)."""
        addresses = [a for s in self.signals for a in s.addresses()]
        if self.control is not None:
            addresses += self.control.read_addresses()
        return PollPlan(coalesce(addresses, max_gap=self.max_gap), self.signals)

    def identity_blocks(self) -> list[ReadBlock]:
        return coalesce([a for s in self.identity for a in s.addresses()], max_gap=self.max_gap)
