"""A small but real OCPP central system (1.6 / 2.0.1 / 2.1) on loopback for the charge-point
simulator's tests: `ocpp` library ChargePoints with @on handlers behind a websockets server."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import pytest
from ocpp.routing import on
from ocpp.v16 import ChargePoint as Cp16
from ocpp.v16 import call_result as r16
from ocpp.v21 import ChargePoint as Cp21
from ocpp.v21 import call_result as r21
from ocpp.v201 import ChargePoint as Cp201
from ocpp.v201 import call_result as r201
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from simulators.charger import ChargerConfig, ChargerSim, OcppVersion

VERSIONS = [OcppVersion.V16, OcppVersion.V201, OcppVersion.V21]


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class Frame:
    """One frame the central system received, parsed if it was JSON."""

    charger_id: str
    text: str
    parsed: Any


@dataclass
class CsmsBehaviour:
    boot_status: list[str] = field(
        default_factory=lambda: ["Accepted"]
    )  # one per boot, last sticks
    boot_interval: int = 3  # simulated seconds (tests run sims at time_scale 60)
    heartbeat_interval: int = 6
    tx_id: int | None = None  # 1.6: fixed transaction id (e.g. 0); None counts from 1
    authorize_status: str = "Accepted"
    start_status: str = "Accepted"  # 1.6 idTagInfo in StartTransaction.conf


class _Common:
    """Recording shared by the version classes (mixed in front of the library class)."""

    csms: CentralSystem

    async def route_message(self, raw_msg: str) -> None:
        try:
            parsed = json.loads(raw_msg)
        except ValueError:
            parsed = None
        self.csms.frames.append(Frame(self.id, raw_msg, parsed))  # type: ignore[attr-defined]
        self.csms.changed()
        await super().route_message(raw_msg)  # type: ignore[misc]

    def boot_status(self) -> str:
        statuses = self.csms.behaviour.boot_status
        index = min(self.csms.boots, len(statuses) - 1)
        self.csms.boots += 1
        return statuses[index]


class Csms16(_Common, Cp16):
    @on("BootNotification")
    def on_boot(self, **_: Any) -> Any:
        status = self.boot_status()
        interval = (
            self.csms.behaviour.heartbeat_interval
            if status == "Accepted"
            else self.csms.behaviour.boot_interval
        )
        return r16.BootNotification(current_time=now_iso(), interval=interval, status=status)

    @on("Heartbeat")
    def on_heartbeat(self, **_: Any) -> Any:
        return r16.Heartbeat(current_time=now_iso())

    @on("StatusNotification")
    def on_status(self, **_: Any) -> Any:
        return r16.StatusNotification()

    @on("Authorize")
    def on_authorize(self, **_: Any) -> Any:
        return r16.Authorize(id_tag_info={"status": self.csms.behaviour.authorize_status})

    @on("StartTransaction")
    def on_start(self, **_: Any) -> Any:
        fixed = self.csms.behaviour.tx_id
        tx = fixed if fixed is not None else next(self.csms.tx_ids)
        status = self.csms.behaviour.start_status
        return r16.StartTransaction(transaction_id=tx, id_tag_info={"status": status})

    @on("StopTransaction")
    def on_stop(self, **_: Any) -> Any:
        return r16.StopTransaction()

    @on("MeterValues")
    def on_meter_values(self, **_: Any) -> Any:
        return r16.MeterValues()


class _Csms2(_Common):
    result: Any

    @on("BootNotification")
    def on_boot(self, **_: Any) -> Any:
        status = self.boot_status()
        interval = (
            self.csms.behaviour.heartbeat_interval
            if status == "Accepted"
            else self.csms.behaviour.boot_interval
        )
        return self.result.BootNotification(
            current_time=now_iso(), interval=interval, status=status
        )

    @on("Heartbeat")
    def on_heartbeat(self, **_: Any) -> Any:
        return self.result.Heartbeat(current_time=now_iso())

    @on("StatusNotification")
    def on_status(self, **_: Any) -> Any:
        return self.result.StatusNotification()

    @on("Authorize")
    def on_authorize(self, **_: Any) -> Any:
        return self.result.Authorize(id_token_info={"status": self.csms.behaviour.authorize_status})

    @on("TransactionEvent")
    def on_transaction_event(self, **_: Any) -> Any:
        return self.result.TransactionEvent()

    @on("MeterValues")
    def on_meter_values(self, **_: Any) -> Any:
        return self.result.MeterValues()


class Csms201(_Csms2, Cp201):
    result = r201


class Csms21(_Csms2, Cp21):
    result = r21


_CLASSES: dict[str, type] = {"ocpp1.6": Csms16, "ocpp2.0.1": Csms201, "ocpp2.1": Csms21}


class CentralSystem:
    """A websockets server on 127.0.0.1 (port 0 first, the same port after a restart)."""

    def __init__(self, behaviour: CsmsBehaviour | None = None, password: str | None = None) -> None:
        self.behaviour = behaviour or CsmsBehaviour()
        self.password = password
        self.port = 0
        self.server: Server | None = None
        self.frames: list[Frame] = []
        self.cps: dict[str, Any] = {}
        self.paths: list[str] = []
        self.auth_headers: list[str | None] = []
        self.boots = 0
        self.tx_ids = itertools.count(1)
        self._pulse = asyncio.Event()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ocpp"

    def changed(self) -> None:
        self._pulse.set()
        self._pulse = asyncio.Event()

    async def start(self) -> None:
        self.server = await serve(
            self._handle,
            "127.0.0.1",
            self.port,
            subprotocols=list(_CLASSES),  # type: ignore[arg-type]
        )
        self.port = self.server.sockets[0].getsockname()[1] if self.port == 0 else self.port

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
        self.cps.clear()

    async def _handle(self, ws: ServerConnection) -> None:
        path = ws.request.path if ws.request else ""
        self.paths.append(path)
        self.auth_headers.append(ws.request.headers.get("Authorization") if ws.request else None)
        charger_id = unquote(path.rsplit("/", 1)[-1])
        cls = _CLASSES[ws.subprotocol or "ocpp1.6"]
        cp = cls(charger_id, ws, response_timeout=5)
        cp.csms = self
        self.cps[charger_id] = cp
        self.changed()
        try:
            await cp.start()
        except ConnectionClosed:
            pass
        finally:
            if self.cps.get(charger_id) is cp:
                del self.cps[charger_id]
            self.changed()

    # -- what tests look at ----------------------------------------------------------------

    def calls(self, action: str, charger_id: str | None = None) -> list[dict[str, Any]]:
        """Payloads of well-formed CALLs of `action`, in arrival order."""
        return [
            f.parsed[3]
            for f in self.frames
            if isinstance(f.parsed, list)
            and len(f.parsed) == 4
            and f.parsed[0] == 2
            and f.parsed[2] == action
            and (charger_id is None or f.charger_id == charger_id)
        ]

    def actions(self, charger_id: str | None = None) -> list[str]:
        return [
            f.parsed[2]
            for f in self.frames
            if isinstance(f.parsed, list)
            and len(f.parsed) == 4
            and f.parsed[0] == 2
            and (charger_id is None or f.charger_id == charger_id)
        ]

    async def wait_for(self, predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
        async with asyncio.timeout(timeout_s):
            while not predicate():
                await self._pulse.wait()

    async def wait_calls(
        self, action: str, count: int = 1, timeout_s: float = 10.0
    ) -> list[dict[str, Any]]:
        await self.wait_for(lambda: len(self.calls(action)) >= count, timeout_s)
        return self.calls(action)

    async def cp(self, charger_id: str, timeout_s: float = 10.0) -> Any:
        await self.wait_for(lambda: charger_id in self.cps, timeout_s)
        return self.cps[charger_id]


async def wait_until(predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Poll a condition on simulator state (which changes without any frame arriving)."""
    async with asyncio.timeout(timeout_s):
        while not predicate():
            await asyncio.sleep(0.01)


@pytest.fixture
async def csms() -> AsyncIterator[CentralSystem]:
    server = CentralSystem()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def sims() -> AsyncIterator[Callable[..., ChargerSim]]:
    """Build sims with test-friendly timing; every sim built here is stopped afterwards."""
    built: list[ChargerSim] = []

    def factory(url: str, version: OcppVersion = OcppVersion.V16, **overrides: Any) -> ChargerSim:
        settings: dict[str, Any] = {
            "charger_id": "CP-1",
            "url": url,
            "ocpp_version": version,
            "meter_interval_s": 6.0,
            "time_scale": 60.0,  # 6 simulated seconds = 0.1 s real
            "backoff_initial_s": 0.05,
            "backoff_max_s": 0.2,
            "response_timeout_s": 5.0,
        }
        settings.update(overrides)
        sim = ChargerSim(ChargerConfig(**settings))
        built.append(sim)
        return sim

    try:
        yield factory
    finally:
        await asyncio.gather(*(s.stop() for s in built), return_exceptions=True)
