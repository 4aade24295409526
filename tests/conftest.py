"""Shared fixtures: a private Mosquitto per test, an MQTT collector, gateway configs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from hypothesis import HealthCheck, settings

from gateway.app import Gateway
from gateway.demo.broker import PrivateMosquitto
from gateway.foundation.config import Config

# Property tests: a short, repeatable run by default (CI, landing: the same examples every
# run, so a red build is a change's doing); HYPOTHESIS_PROFILE=long digs deeper with fresh
# random examples (HYPOTHESIS_PROFILE=explore: short but random). No deadline: the machine
# is shared, and timing is never what a test asserts.
settings.register_profile(
    "default",
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "explore", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("long", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@asynccontextmanager
async def private_mosquitto(*extra_config: str) -> AsyncIterator[PrivateMosquitto]:
    """A real Mosquitto on a free loopback port, with `extra_config` lines; removed after."""
    broker = PrivateMosquitto(extra_config=extra_config)
    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()
        broker.cleanup()


@pytest.fixture
async def mosquitto() -> AsyncIterator[PrivateMosquitto]:
    """A real Mosquitto on a free loopback port; tests may stop and restart it."""
    async with private_mosquitto() as broker:
        yield broker


class Collector:
    """A real MQTT subscriber that records every message it gets (persistent session)."""

    def __init__(
        self,
        host: str,
        port: int,
        topic: str,
        *,
        mqtt5: bool = True,
        auth: tuple[str, str] | None = None,
    ) -> None:
        self.host, self.port, self.topic = host, port, topic
        self.mqtt5, self.auth = mqtt5, auth
        self.messages: list[aiomqtt.Message] = []
        self._client_id = f"collector-{uuid.uuid4().hex[:8]}"
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self.subscribed = asyncio.Event()

    async def __aenter__(self) -> Collector:
        self._task = asyncio.create_task(self._run())
        async with asyncio.timeout(10):
            await self.subscribed.wait()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        session: dict[str, Any]
        if self.mqtt5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = 3600
            session = {
                "protocol": aiomqtt.ProtocolVersion.V5,
                "clean_start": False,
                "properties": props,
            }
        else:
            session = {"protocol": aiomqtt.ProtocolVersion.V311, "clean_session": False}
        if self.auth is not None:
            session |= {"username": self.auth[0], "password": self.auth[1]}
        while True:
            try:
                async with aiomqtt.Client(
                    self.host, self.port, identifier=self._client_id, **session
                ) as client:
                    await client.subscribe(self.topic, qos=1)
                    self.subscribed.set()
                    async for message in client.messages:
                        self.messages.append(message)
                        self._changed.set()
            except aiomqtt.MqttError:
                await asyncio.sleep(0.1)

    def on(self, suffix: str) -> list[aiomqtt.Message]:
        return [m for m in self.messages if str(m.topic).endswith(suffix)]

    def json(self, suffix: str) -> list[dict[str, Any]]:
        return [json.loads(m.payload) for m in self.on(suffix)]  # type: ignore[arg-type]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()


def open_ocpp(port: int, **extra: Any) -> dict[str, Any]:
    """An `ocpp` config section on loopback that lets any charger and any tag in."""
    return {
        "enabled": True,
        "host": "127.0.0.1",
        "port": port,
        "allow_unknown_chargers": True,
        "authorize": {"accept_all": True},
        **extra,
    }


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., Config]:
    def factory(broker: PrivateMosquitto | None = None, **sections: Any) -> Config:
        raw: dict[str, Any] = {
            "site": {"id": "test-site"},
            "state_dir": str(tmp_path / "state"),
            "http": {"host": "127.0.0.1", "port": 0},
            "mqtt": {
                "host": broker.host if broker else "127.0.0.1",
                "port": broker.port if broker else 1,
                "enabled": broker is not None,
                "topic_prefix": f"t{uuid.uuid4().hex[:6]}",
                "reconnect_min_s": 0.05,
                "reconnect_max_s": 0.5,
                "outbox": {"synchronous": "normal"},
            },
            "ocpp": {"enabled": False},
        }
        for key, value in sections.items():
            if isinstance(value, dict) and isinstance(raw.get(key), dict):
                raw[key] = {**raw[key], **value}
            else:
                raw[key] = value
        return Config.model_validate(raw)

    return factory


@asynccontextmanager
async def running_gateway(
    config: Config, before_serve: Callable[[Gateway], object] | None = None
) -> AsyncIterator[Gateway]:
    """A whole gateway in this process; `before_serve` may add components or handlers."""
    gateway = Gateway(config)
    await gateway.start()
    if before_serve is not None:
        before_serve(gateway)
    task = asyncio.create_task(gateway.serve(install_signal_handlers=False))
    try:
        yield gateway
    finally:
        gateway.request_stop()
        await asyncio.wait_for(task, 20)
