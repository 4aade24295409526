"""SunSpec discovery: find the `SunS` marker, then walk the model chain to the end model.

SunSpec Information Model Specification, "Device Modbus map": the map starts with `SunS`
(0x5375 0x6E53) at a base address (40000, else 0, else 50000); each model follows as its
ID, its length L and L registers; ID 0xFFFF ends the chain. The walk is pure: it reads
through an injected `read(address, count)` coroutine, so tests can feed it a plain list.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from drivers.modbus.errors import DeviceBusy, DiscoveryError, ExceptionReply
from drivers.modbus.sunspec.models import END_MODEL_ID, SUNS_MARKER, SUNSPEC_BASES

__all__ = ["DiscoveryError", "ModelLocation", "SunSpecMap", "discover", "parse_chain"]

ReadFn = Callable[[int, int], Awaitable[Sequence[int]]]
"""Read `count` holding registers at `address`; raises on a Modbus error."""

MAX_MODELS = 64


@dataclass(frozen=True, slots=True)
class ModelLocation:
    model_id: int
    address: int
    """Address of the model's ID register."""
    length: int
    """L: registers after the two-register header."""

    @property
    def end(self) -> int:
        return self.address + 2 + self.length


@dataclass(frozen=True, slots=True)
class SunSpecMap:
    base: int
    models: tuple[ModelLocation, ...]

    def first(self, *model_ids: int) -> ModelLocation | None:
        """The first model present among `model_ids`, in the order asked."""
        for model_id in model_ids:
            for model in self.models:
                if model.model_id == model_id:
                    return model
        return None

    @property
    def model_ids(self) -> list[int]:
        return [m.model_id for m in self.models]


def parse_chain(base: int, registers: Sequence[int]) -> SunSpecMap:
    """Parse a whole map read in one piece (`registers[0]` is at `base`)."""
    if tuple(registers[:2]) != SUNS_MARKER:
        raise DiscoveryError(f"no SunS marker at {base}")
    models: list[ModelLocation] = []
    index = 2
    for _ in range(MAX_MODELS):
        if index + 2 > len(registers):
            raise DiscoveryError(f"chain runs past the registers given (at {base + index})")
        model_id, length = registers[index], registers[index + 1]
        if model_id == END_MODEL_ID:
            return SunSpecMap(base, tuple(models))
        models.append(ModelLocation(model_id, base + index, length))
        index += 2 + length
    raise DiscoveryError(f"no end model within {MAX_MODELS} models")


async def _walk(read: ReadFn, base: int) -> SunSpecMap:
    marker = tuple(await read(base, 2))
    if marker != SUNS_MARKER:
        raise DiscoveryError(f"no SunS marker at {base}")
    models: list[ModelLocation] = []
    address = base + 2
    for _ in range(MAX_MODELS):
        header = await read(address, 2)
        if len(header) != 2:
            raise DiscoveryError(f"short reply for the model header at {address}")
        model_id, length = header
        if model_id == END_MODEL_ID:
            return SunSpecMap(base, tuple(models))
        if model_id == 0 or address + 2 + length > 0xFFFF:
            raise DiscoveryError(f"implausible model header {model_id}/{length} at {address}")
        models.append(ModelLocation(model_id, address, length))
        address += 2 + length
    raise DiscoveryError(f"no end model within {MAX_MODELS} models")


async def discover(read: ReadFn, bases: Sequence[int] = SUNSPEC_BASES) -> SunSpecMap:
    """Try each base in turn; the first with a marker and a complete chain wins."""
    problems: list[str] = []
    for base in bases:
        try:
            return await _walk(read, base)
        except DiscoveryError as exc:
            problems.append(str(exc))
        except DeviceBusy:
            raise
        except ExceptionReply as exc:  # e.g. exception 2 where a base is not mapped
            problems.append(f"base {base}: {exc}")
    raise DiscoveryError("; ".join(problems))
