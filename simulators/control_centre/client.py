"""A small control centre: finds the sites on a broker (cluster), checks their `seq`, commands them.

It is the documented example of docs/fleet.md and the client of the fleet benchmark:
- discovery from the retained `{prefix}/{site}/gateway/info` of every site;
- one subscription to `{prefix}/+/#`, a `SeqTracker` per site (repeats dropped, gaps found);
- `command()` publishes to `{prefix}/{site}/{target}/{id}/cmd/{name}` with an `id` and waits for
  the result with that `id` on `.../result` (works under MQTT 3.1.1 as under 5);
- several brokers, tried in order, a fresh client per attempt, a persistent session so a
  failover loses nothing, MQTT 5 or 3.1.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from simulators.control_centre.seq_tracker import SeqTracker

__all__ = ["CommandOutcome", "ControlCentre", "SiteView"]


@dataclass
class SiteView:
    site_id: str
    info: dict[str, Any] = field(default_factory=dict)
    seq: SeqTracker = field(default_factory=SeqTracker)
    availability: str | None = None
    first_at: float | None = None
    last_at: float | None = None


@dataclass(frozen=True)
class CommandOutcome:
    result: dict[str, Any]
    round_trip_s: float


class ControlCentre:
    def __init__(
        self,
        brokers: list[tuple[str, int]],
        prefix: str = "pilebridge",
        *,
        mqtt5: bool = True,
        username: str | None = None,
        password: str | None = None,
        client_id: str | None = None,
        settle_s: float = 30.0,
    ) -> None:
        self.brokers, self.prefix, self.mqtt5 = brokers, prefix, mqtt5
        self._auth = {"username": username, "password": password} if username else {}
        self.client_id = client_id or f"control-centre-{uuid.uuid4().hex[:8]}"
        self.settle_s = settle_s
        self.sites: dict[str, SiteView] = {}
        self.broker: tuple[str, int] | None = None
        self.failovers = 0
        self._client: aiomqtt.Client | None = None
        self._connected = asyncio.Event()
        self._results: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    async def __aenter__(self) -> ControlCentre:
        self._task = asyncio.create_task(self._run(), name="control-centre")
        async with asyncio.timeout(60):
            await self._connected.wait()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def wait_for_sites(self, count: int, timeout_s: float = 60.0) -> list[str]:
        """Until `count` sites have announced themselves; their ids."""
        async with asyncio.timeout(timeout_s):
            while sum(1 for s in self.sites.values() if s.info) < count:
                self._changed.clear()
                await self._changed.wait()
        return sorted(s for s, view in self.sites.items() if view.info)

    async def command(
        self,
        site_id: str,
        target: str,
        device_id: str | None,
        name: str,
        payload: dict[str, Any],
        timeout_s: float = 30.0,
    ) -> CommandOutcome:
        """Send a command, wait for its result (matched by `id`); raises TimeoutError."""
        request_id = uuid.uuid4().hex
        path = f"{target}/cmd/{name}" if device_id is None else f"{target}/{device_id}/cmd/{name}"
        topic = f"{self.prefix}/{site_id}/{path}"
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._results[request_id] = waiter
        started = time.perf_counter()
        try:
            async with asyncio.timeout(timeout_s):
                await self._connected.wait()
                assert self._client is not None
                body = json.dumps({**payload, "id": request_id}).encode()
                await self._client.publish(topic, body, qos=1)
                result = await waiter
        finally:
            self._results.pop(request_id, None)
        return CommandOutcome(result, time.perf_counter() - started)

    def check_gaps(self, now: float | None = None) -> dict[str, list[int]]:
        """Seqs missing for longer than `settle_s`, per site (new ones only)."""
        at = time.monotonic() if now is None else now
        found = {site: view.seq.expire(at) for site, view in self.sites.items()}
        return {site: gaps for site, gaps in found.items() if gaps}

    async def _run(self) -> None:
        attempt = 0
        while True:
            host, port = self.brokers[attempt % len(self.brokers)]
            session: dict[str, Any] = (
                {"protocol": aiomqtt.ProtocolVersion.V5, "clean_start": False}
                if self.mqtt5
                else {"protocol": aiomqtt.ProtocolVersion.V311, "clean_session": False}
            )
            if self.mqtt5:
                props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
                props.SessionExpiryInterval = 3600
                session["properties"] = props
            try:
                async with aiomqtt.Client(
                    host, port, identifier=self.client_id, timeout=10,
                    # Nagle off: a command is one small packet that should leave at once.
                    socket_options=((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),),
                    **session, **self._auth,
                ) as client:  # fmt: skip
                    if self.broker is not None and self.broker != (host, port):
                        self.failovers += 1
                    self.broker = (host, port)
                    await client.subscribe(f"{self.prefix}/+/#", qos=1)
                    self._client = client
                    self._connected.set()
                    async for message in client.messages:
                        self._on_message(str(message.topic), message.payload, message.retain)
            except aiomqtt.MqttError:
                pass
            finally:
                self._client = None
                self._connected.clear()
            attempt += 1
            await asyncio.sleep(0.2 if attempt % len(self.brokers) else 1.0)

    def _on_message(self, topic: str, payload: Any, retained: bool) -> None:
        parts = topic.split("/")
        if len(parts) < 3 or not isinstance(payload, bytes):
            return
        site = self.sites.setdefault(parts[1], SiteView(parts[1], seq=SeqTracker(self.settle_s)))
        rest = parts[2:]
        if rest == ["gateway", "availability"]:
            site.availability = payload.decode(errors="replace")
        elif rest == ["gateway", "info"]:
            with contextlib.suppress(ValueError):
                site.info = json.loads(payload)
        elif rest[-1] == "result" and len(rest) >= 3 and rest[-3] == "cmd":
            self._on_result(payload)
        elif payload.startswith(b"{") and not retained:
            # A retained state delivered on subscribing is an old record replayed by the
            # broker, not part of the live sequence: its seq would look like a gap.
            self._on_record(site, payload)
        self._changed.set()

    def _on_result(self, payload: bytes) -> None:
        with contextlib.suppress(ValueError):
            body = json.loads(payload)
            waiter = self._results.get(str(body.get("id")))
            if waiter is not None and not waiter.done():
                waiter.set_result(body)

    def _on_record(self, site: SiteView, payload: bytes) -> None:
        try:
            seq = json.loads(payload).get("seq")
        except ValueError:
            return
        if isinstance(seq, int) and not isinstance(seq, bool):
            now = time.monotonic()
            site.seq.seen(seq, now)
            site.first_at = site.first_at or now
            site.last_at = now
