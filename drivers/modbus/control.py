"""How a setpoint becomes register writes, and how the device confirms it. Pure: no I/O.

A `Control` turns "hold P watts (load convention) and revert to F after T seconds unless
refreshed" into writes plus read-back checks. Each profile has one: SunSpec 704, SunSpec
124, or the `control:` section of a register-map file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from drivers.modbus.signals import RegisterImage

__all__ = ["Check", "Control", "ControlPlan", "Write"]


@dataclass(frozen=True, slots=True)
class Write:
    unit_id: int
    address: int
    registers: tuple[int, ...]
    what: str
    """Point names, for logs and errors (e.g. `704 WSetEna..WSetRvrt`)."""


@dataclass(frozen=True, slots=True)
class Check:
    """Registers that must read back as written once the writes are done."""

    unit_id: int
    address: int
    expected: tuple[int, ...]
    what: str


@dataclass(frozen=True, slots=True)
class ControlPlan:
    writes: tuple[Write, ...]
    checks: tuple[Check, ...]
    applied_power_w: float
    """The power the device was told, after the register resolution (scale factor)."""


class Control(Protocol):
    @property
    def name(self) -> str:
        """Which mechanism, for state and docs (e.g. `sunspec 704 WSet`)."""

    @property
    def revert_field(self) -> str | None:
        """The device's own reversion timer, if it has one (e.g. `704 WSetRvrtTms`)."""

    def read_addresses(self) -> list[tuple[int, int]]:
        """Registers the poll must keep fresh so plans can be made (scale factors, ratings)."""

    def plan_setpoint(
        self, power_w: float, *, revert_s: float, fallback_w: float, image: RegisterImage
    ) -> ControlPlan:
        """Writes that make the device hold `power_w`; raises ValueError if it cannot."""

    def plan_release(self, image: RegisterImage) -> ControlPlan:
        """Writes that hand control back to the device's own logic (mode `auto`)."""
