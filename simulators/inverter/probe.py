"""Walk a SunSpec map over Modbus TCP: the discovery a client does, as a check tool for peers.

SunSpec Information Model Specification, "Device Modbus map": read the marker at the base,
then each model's ID and L, skipping L registers, until ID 0xFFFF.
"""

from __future__ import annotations

from dataclasses import dataclass

from pymodbus.client import AsyncModbusTcpClient

from .image import END_MODEL_ID, SUNS_MARKER

__all__ = ["DiscoveredModel", "ProbeError", "discover", "read_block"]

MAX_READ = 125  # registers per read holding registers request (Modbus application protocol)


class ProbeError(RuntimeError):
    """The peer's map is not a readable SunSpec chain."""


@dataclass(frozen=True, slots=True)
class DiscoveredModel:
    model_id: int
    address: int  # address of the model's ID register
    length: int
    registers: tuple[int, ...]  # the L point registers

    @property
    def points_address(self) -> int:
        return self.address + 2


async def read_block(
    client: AsyncModbusTcpClient, address: int, count: int, device_id: int
) -> list[int]:
    """Read ``count`` holding registers in chunks of at most 125."""
    out: list[int] = []
    while count > 0:
        chunk = min(count, MAX_READ)
        reply = await client.read_holding_registers(address, count=chunk, device_id=device_id)
        if reply.isError():
            raise ProbeError(f"read {address}+{chunk} failed: {reply}")
        out.extend(reply.registers)
        address += chunk
        count -= chunk
    return out


async def discover(
    client: AsyncModbusTcpClient, *, device_id: int = 1, base: int = 40000, max_models: int = 64
) -> list[DiscoveredModel]:
    """Every model of the chain at ``base``, in order (the end model excluded)."""
    if tuple(await read_block(client, base, 2, device_id)) != SUNS_MARKER:
        raise ProbeError(f"no SunS marker at {base}")
    models: list[DiscoveredModel] = []
    address = base + 2
    for _ in range(max_models):
        model_id, length = await read_block(client, address, 2, device_id)
        if model_id == END_MODEL_ID:
            return models
        regs = await read_block(client, address + 2, length, device_id) if length else []
        models.append(DiscoveredModel(model_id, address, length, tuple(regs)))
        address += 2 + length
    raise ProbeError(f"no end model within {max_models} models")
