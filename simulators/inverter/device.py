"""Base of a simulated SunSpec device: a register image kept in step with a physics model.

The device is pure (no sockets): ``sync(now)`` advances its physics to ``now`` and refreshes
the measured points; ``write(address, registers, now)`` applies a Modbus write. The server
shell calls both; tests may call them directly.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping

import structlog

from .image import MODEL_TABLES, ModelBlock, ReadOnlyPointError, RegisterImage
from .points import PointValue

__all__ = ["IllegalValueError", "ReadOnlyPointError", "SunSpecDevice", "common_block"]


class IllegalValueError(ValueError):
    """A written value the device refuses (Modbus exception 3, illegal data value)."""


def common_block(
    *, manufacturer: str, model: str, version: str, serial: str, unit_id: int
) -> ModelBlock:
    """SunSpec model 1 (common). Opt is left unimplemented (all zeros) on purpose."""
    return ModelBlock(
        1,
        MODEL_TABLES[1],
        {"Mn": manufacturer, "Md": model, "Opt": None, "Vr": version, "SN": serial,
         "DA": unit_id, "Pad": None},
    )  # fmt: skip


class SunSpecDevice(ABC):
    """A register image plus the behaviour behind it."""

    def __init__(self, device_id: str, image: RegisterImage, start: float) -> None:
        self.device_id = device_id
        self.image = image
        self.t = start  # the time up to which physics has been integrated
        self.frozen = False
        self.writes: list[tuple[float, int, str, PointValue]] = []  # what the peer set
        self.log = structlog.get_logger("simulators.inverter").bind(device_id=device_id)

    def registers(self) -> list[int]:
        """The current register image, from the base address to the end model."""
        return self.image.encode()

    def segments(self) -> list[tuple[int, list[int]]]:
        """The map as one contiguous run of registers from the base address."""
        return [(self.image.base, self.image.encode())]

    def sync(self, now: float) -> None:
        """Integrate physics up to ``now``; refresh measurements unless frozen."""
        if now > self.t:
            self.advance(now)
            self.t = now
        if not self.frozen:
            self.refresh(now)

    def write(self, address: int, values: list[int], now: float) -> None:
        """Apply a Modbus write (FC 6/16); raises ReadOnlyPointError or IllegalValueError."""
        self.sync(now)
        changes = self.image.decode_write(address, values)
        supported = self.writable_points()
        for (model_id, name), value in changes.items():
            if (model_id, name) not in supported:
                raise ReadOnlyPointError(f"model {model_id} {name} is not implemented")
            if value is None:
                raise IllegalValueError(f"model {model_id} {name}: not-implemented value")
        saved = self.checkpoint()
        try:
            for (model_id, name), value in changes.items():
                self.apply(model_id, name, value, now)
        except (ValueError, TypeError) as exc:
            self.rollback(saved)  # a write is applied whole or not at all
            raise IllegalValueError(str(exc)) from exc
        for (model_id, name), value in changes.items():
            self.image.block(model_id).values[name] = value
            self.writes.append((now, model_id, name, value))
            self.log.debug("point_written", model=model_id, point=name, value=value)
        self.settle(now)
        if not self.frozen:
            self.refresh(now)

    def set_values(self, model_id: int, values: Mapping[str, PointValue]) -> None:
        self.image.block(model_id).values.update(values)

    @abstractmethod
    def checkpoint(self) -> object:
        """State to restore if a write is refused halfway."""

    @abstractmethod
    def rollback(self, saved: object) -> None:
        """Undo the effects of a refused write (see ``checkpoint``)."""

    @abstractmethod
    def settle(self, now: float) -> None:
        """React at once to an accepted write (a new setpoint takes effect immediately)."""

    @abstractmethod
    def advance(self, now: float) -> None:
        """Integrate the physics from ``self.t`` to ``now``."""

    @abstractmethod
    def refresh(self, now: float) -> None:
        """Write the measured values into the model blocks."""

    @abstractmethod
    def writable_points(self) -> frozenset[tuple[int, str]]:
        """(model id, point) pairs this device implements for writing."""

    @abstractmethod
    def apply(self, model_id: int, name: str, value: PointValue, now: float) -> None:
        """Act on one written point; raise ValueError to refuse it."""
