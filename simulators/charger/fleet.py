"""Many charge points in one process, connecting in a staggered ramp so a central system is
not hit by thousands of handshakes in the same millisecond."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator, Sequence
from dataclasses import replace

from gateway.foundation.aio import cancel_and_wait
from gateway.foundation.clock import Clock
from simulators.charger.config import ChargerConfig, OcppVersion
from simulators.charger.ev import EvSpec
from simulators.charger.station import ChargerSim

__all__ = ["ChargerFleet", "fleet_configs"]


def fleet_configs(
    count: int,
    template: ChargerConfig,
    *,
    id_prefix: str = "CP-",
    versions: Sequence[OcppVersion] = (OcppVersion.V16,),
) -> list[ChargerConfig]:
    """`count` configs from one template: ids prefix1..prefixN, versions taken in turn."""
    if count < 1:
        raise ValueError("count must be at least 1")
    return [
        replace(
            template,
            charger_id=f"{id_prefix}{i}",
            ocpp_version=versions[(i - 1) % len(versions)],
            serial=f"{template.serial}{i}" if template.serial else "",
        )
        for i in range(1, count + 1)
    ]


class ChargerFleet:
    def __init__(
        self,
        configs: Sequence[ChargerConfig],
        *,
        stagger_s: float = 0.02,
        clock: Clock | None = None,
        seed: int | None = None,
        ev: EvSpec | None = None,
    ) -> None:
        rng = random.Random(seed)
        self.sims = [
            ChargerSim(c, clock=clock, rng=random.Random(rng.random()), ev=ev) for c in configs
        ]
        self.stagger_s = stagger_s
        self._ramp: asyncio.Task[None] | None = None

    def __iter__(self) -> Iterator[ChargerSim]:
        return iter(self.sims)

    def __len__(self) -> int:
        return len(self.sims)

    def __getitem__(self, charger_id: str) -> ChargerSim:
        for sim in self.sims:
            if sim.config.charger_id == charger_id:
                return sim
        raise KeyError(charger_id)

    async def start(self) -> None:
        """Start the ramp in the background; sims come up `stagger_s` apart."""

        async def ramp() -> None:
            for index, sim in enumerate(self.sims):
                if index and self.stagger_s > 0:
                    await asyncio.sleep(self.stagger_s)
                await sim.start()

        self._ramp = asyncio.create_task(ramp(), name="fleet-ramp")

    async def stop(self) -> None:
        if self._ramp is not None:
            await cancel_and_wait([self._ramp])
        await asyncio.gather(*(sim.stop() for sim in self.sims), return_exceptions=True)

    async def __aenter__(self) -> ChargerFleet:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def wait_booted(self, timeout_s: float = 30.0) -> None:
        async with asyncio.timeout(timeout_s):
            if self._ramp is not None:
                await self._ramp
            await asyncio.gather(*(sim.wait_booted(timeout_s) for sim in self.sims))

    def booted_count(self) -> int:
        return sum(1 for sim in self.sims if sim.online)

    def total_power_w(self) -> float:
        return sum(e.power_w for sim in self.sims for e in sim.evses.values())
