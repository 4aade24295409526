"""An OCPP driver running on loopback with a real recorder and outbox, no MQTT broker.

Records are captured as the recorder makes them (`site.records`), so tests check the model
records the MQTT payloads are built from; tests/drivers/ocpp/test_e2e.py checks the payloads
on a real broker.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from drivers.ocpp.driver import OcppDriver
from gateway.foundation.clock import SystemClock
from gateway.foundation.commands.router import CommandRouter
from gateway.foundation.config import Config
from gateway.foundation.driver_api import DriverContext
from gateway.foundation.leases import LeaseTable
from gateway.foundation.model import CommandRequest, CommandResult, DeviceKind, Record
from gateway.outbox import Outbox
from gateway.recorder import OutboxRecorder
from gateway.topics import Topics


class Site:
    """The driver plus what it recorded."""

    def __init__(self, driver: OcppDriver, router: CommandRouter, leases: LeaseTable) -> None:
        self.driver = driver
        self.router = router
        self.leases = leases
        self.records: list[Record] = []
        self.changed = asyncio.Event()

    @property
    def port(self) -> int:
        return self.driver.port

    def on_record(self, record: Record) -> None:
        self.records.append(record)
        self.changed.set()

    def of(self, kind: type, since: int = 0, **match: Any) -> list[Any]:
        return [
            r
            for r in self.records[since:]
            if isinstance(r, kind) and all(getattr(r, k) == v for k, v in match.items())
        ]

    def mark(self) -> int:
        """Position in the record stream, for `wait_for(..., since=mark)`."""
        return len(self.records)

    async def wait_for(self, kind: type, timeout: float = 5.0, since: int = 0, **match: Any) -> Any:
        async with asyncio.timeout(timeout):
            while not self.of(kind, since, **match):
                self.changed.clear()
                await self.changed.wait()
        return self.of(kind, since, **match)[-1]

    async def command(self, charger_id: str, name: str, **payload: Any) -> CommandResult:
        raw = __import__("json").dumps(payload).encode()
        request, args, rejection = self.router.parse("charger", charger_id, name, raw)
        if rejection is not None:
            return rejection
        assert isinstance(request, CommandRequest)
        return await self.router.dispatch(request, args)

    async def connected(self, charger_id: str, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while charger_id not in self.driver.hub.sessions:
                await asyncio.sleep(0.01)


def ocpp_config(tmp_path: Path, **ocpp: Any) -> Config:
    raw: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": 0,
        "chargers": [
            {"id": "CP-16"},
            {"id": "CP-201"},
            {"id": "CP-21", "bidirectional": True},
            {"id": "CP 7|B"},
        ],
        "authorize": {"tags": ["04A2B3C4D5E6F7", "TAG-1"]},
        "call_timeout_s": 2.0,
    }
    raw.update(ocpp)
    return Config.model_validate(
        {"site": {"id": "t"}, "state_dir": str(tmp_path / "state"), "ocpp": raw}
    )


@asynccontextmanager
async def running_driver(config: Config) -> AsyncIterator[Site]:
    config.state_dir.mkdir(parents=True, exist_ok=True)
    outbox = Outbox(config.state_dir / "outbox.sqlite", synchronous="normal")
    await outbox.open()
    recorder = OutboxRecorder(outbox, Topics("t", "site"))
    leases = LeaseTable(SystemClock(), tick_s=0.05)
    router = CommandRouter(leases=leases)
    driver = OcppDriver(
        DriverContext(config, recorder, router, leases, SystemClock(), config.state_dir)
    )
    site = Site(driver, router, leases)
    recorder.subscribe(site.on_record)
    await driver.start()
    tasks = [asyncio.create_task(driver.run()), asyncio.create_task(leases.run())]
    try:
        yield site
    finally:
        await driver.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await leases.settle()
        await outbox.close()


@pytest.fixture
def config_factory(tmp_path: Path) -> Callable[..., Config]:
    return lambda **ocpp: ocpp_config(tmp_path, **ocpp)


@pytest.fixture
async def site(config_factory: Callable[..., Config]) -> AsyncIterator[Site]:
    async with running_driver(config_factory()) as s:
        yield s


__all__ = ["DeviceKind", "Site", "ocpp_config", "running_driver"]
