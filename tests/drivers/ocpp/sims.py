"""The bundled charge-point simulator as the charger on the other side of a test gateway."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from simulators.charger import ChargerConfig, ChargerSim, OcppVersion

CHARGER = {"1.6": "CP-16", "2.0.1": "CP-201", "2.1": "CP-21"}
VERSIONS = list(CHARGER)


@contextlib.asynccontextmanager
async def simulated(
    port: int, version: str, charger_id: str | None = None, **config: Any
) -> AsyncIterator[ChargerSim]:
    """A booted simulator of `version` connected to the gateway on `port`."""
    sim = ChargerSim(
        ChargerConfig(
            charger_id=charger_id or CHARGER[version],
            url=f"ws://127.0.0.1:{port}/ocpp",
            ocpp_version=OcppVersion(version),
            backoff_initial_s=0.2,
            backoff_max_s=1.0,
            response_timeout_s=10.0,
            **config,
        )
    )
    async with sim:
        await sim.wait_booted(timeout_s=20)
        yield sim
