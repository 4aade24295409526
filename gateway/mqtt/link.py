"""The gateway's one MQTT connection: availability, info, outbox delivery and command intake.

Each connection attempt uses a fresh client; between attempts the delay comes from the shared
backoff generator. While connected, two tasks share the session: `_deliver` drains the outbox
in order (a row is acknowledged to the outbox only after its PUBACK), `_receive` takes commands.
When either fails the session ends, rows not acknowledged are sent again on the next session.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Coroutine
from typing import Any

import aiomqtt
import structlog
from aiomqtt.exceptions import MqttConnectError
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway.foundation.clock import Clock, SystemClock, format_ts
from gateway.foundation.commands.router import CommandRouter
from gateway.foundation.commands.schemas import COMMAND_SCHEMAS
from gateway.foundation.config import MqttConfig
from gateway.foundation.metrics import (
    COMMAND_RESULTS,
    MESSAGES,
    MQTT_CONNECTED,
    OUTBOX_DELIVERED,
    PUBLISH_REFUSED,
)
from gateway.foundation.model import CommandRequest, CommandResult
from gateway.mqtt.batch_publisher import BatchPublisher, PublishRefused
from gateway.mqtt.broker_rotation import PROTOCOL_REFUSED_CODES, BrokerChoice, BrokerRotation
from gateway.mqtt.client_factory import make_client
from gateway.outbox import Outbox, OutboxRow
from gateway.topics import Topics

__all__ = ["MqttLink"]

log = structlog.get_logger("gateway.mqtt")


class MqttLink:
    def __init__(
        self,
        config: MqttConfig,
        topics: Topics,
        outbox: Outbox,
        router: CommandRouter,
        *,
        info: Callable[[], dict[str, Any]],
        clock: Clock | None = None,
        client_id: str = "",
    ) -> None:
        self._config = config
        self._topics = topics
        self._outbox = outbox
        self._router = router
        self._info = info
        self._clock = clock or SystemClock()
        self._client_id = client_id
        self._client: aiomqtt.Client | None = None
        self._listeners: list[Callable[[bool], None]] = []
        self._extra: list[tuple[str, Callable[[str, bytes], Coroutine[Any, Any, None]]]] = []
        self._stopping = asyncio.Event()
        self._finished = asyncio.Event()
        self._flush_timeout_s = 5.0
        self._command_tasks: set[asyncio.Task[None]] = set()
        self.delivered = 0
        self.connects = 0
        self.broker: BrokerChoice | None = None
        """The broker of the current (or last) connection, with the MQTT version in use."""

    @property
    def connected(self) -> bool:
        return self._client is not None

    def on_connection_change(self, listener: Callable[[bool], None]) -> None:
        """Called with True on every connect and False on every loss (leases use it)."""
        self._listeners.append(listener)

    def subscribe_extra(
        self, topic_filter: str, handler: Callable[[str, bytes], Coroutine[Any, Any, None]]
    ) -> None:
        """A non-command subscription (e.g. Home Assistant's birth topic), renewed on every
        connect; `handler(topic, payload)` runs for each message that matches it."""
        self._extra.append((topic_filter, handler))

    async def publish_direct(
        self, topic: str, payload: bytes, *, retain: bool = False, qos: int = 1
    ) -> None:
        """Publish outside the outbox (no seq, not durable); MqttError when not connected."""
        client = self._client
        if client is None:
            raise aiomqtt.MqttError("not connected to the broker")
        await client.publish(topic, payload, qos=qos, retain=retain)

    async def run(self) -> None:
        self._finished.clear()
        try:
            await self._run()
        finally:
            self._finished.set()

    async def _run(self) -> None:
        cfg = self._config
        rotation = BrokerRotation(
            cfg.brokers,
            cfg.protocol,
            reconnect_min_s=cfg.reconnect_min_s,
            reconnect_max_s=cfg.reconnect_max_s,
        )
        was_down_logged = False
        while not self._stopping.is_set():
            broker = rotation.current()
            client = make_client(
                cfg,
                (broker.host, broker.port),
                mqtt5=broker.mqtt5,
                will_topic=self._topics.availability,
                default_client_id=self._client_id,
            )
            established = False
            try:
                async with client:
                    established = True
                    self.broker = broker
                    rotation.connected()
                    self._set_connected(client)
                    log.info("mqtt_connected", broker=broker.address, protocol=broker.protocol)
                    was_down_logged = False
                    await self._session(client)
                    return  # a session only ends without error when we are stopping
            except aiomqtt.MqttError as exc:
                if not established and _refuses_protocol(exc) and rotation.refused_protocol():
                    # A warning the first time; the other nodes of the same cluster say the
                    # same, which is no news.
                    emit = log.info if rotation.fallbacks > 1 else log.warning
                    emit(
                        "mqtt_protocol_fallback",
                        broker=broker.address,
                        reason=str(exc),
                        protocol="3.1.1",
                    )
                    continue
                if self._client is not None or not was_down_logged:
                    log.warning(
                        "mqtt_unavailable",
                        broker=broker.address,
                        protocol=broker.protocol,
                        error=str(exc),
                        outbox_depth=self._outbox.depth,
                    )
                    was_down_logged = True
                delay = rotation.dropped(time.monotonic()) if established else rotation.failed()
            finally:
                self._set_connected(None)
            if delay > 0:
                try:
                    async with asyncio.timeout(delay):
                        await self._stopping.wait()
                except TimeoutError:
                    pass

    async def stop(self, flush_timeout_s: float = 5.0) -> None:
        """Deliver what the outbox holds (bounded by the timeout), say `offline`, disconnect."""
        self._flush_timeout_s = flush_timeout_s
        self._stopping.set()
        await self._finished.wait()

    def _set_connected(self, client: aiomqtt.Client | None) -> None:
        was = self._client is not None
        self._client = client
        if (client is not None) != was:
            MQTT_CONNECTED.set(1 if client is not None else 0)
            if client is not None:
                self.connects += 1
            elif self._stopping.is_set():
                return  # our own graceful stop is not a lost control centre: leases stay
            for listener in self._listeners:
                listener(client is not None)

    async def _session(self, client: aiomqtt.Client) -> None:
        # Subscribe before saying `online`: a control centre that sees `online` (or `info`)
        # may command at once, and a command published before the subscription is lost.
        for topic_filter in (*self._topics.command_filters, *(f for f, _ in self._extra)):
            await client.subscribe(topic_filter, qos=1)
        await client.publish(self._topics.availability, b"online", qos=1, retain=True)
        info = json.dumps(self._info(), separators=(",", ":")).encode()
        await client.publish(self._topics.info, info, qos=1, retain=True)
        try:
            async with asyncio.TaskGroup() as group:
                deliver = group.create_task(self._deliver(client), name="mqtt-deliver")
                receive = group.create_task(self._receive(client), name="mqtt-receive")
                await group.create_task(self._stopping.wait(), name="mqtt-stop-wait")
                await self._flush(deliver)
                await client.publish(self._topics.availability, b"offline", qos=1, retain=True)
                deliver.cancel()
                receive.cancel()
        except BaseExceptionGroup as group_error:
            mqtt_errors = group_error.subgroup(aiomqtt.MqttError)
            if mqtt_errors is not None:
                raise mqtt_errors.exceptions[0] from None
            raise

    async def _flush(self, deliver: asyncio.Task[None]) -> None:
        try:
            async with asyncio.timeout(self._flush_timeout_s):
                empty = asyncio.ensure_future(self._outbox.wait_empty())
                try:
                    await asyncio.wait({empty, deliver}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    empty.cancel()
        except TimeoutError:
            log.warning("mqtt_flush_incomplete", outbox_depth=self._outbox.depth)

    async def _deliver(self, client: aiomqtt.Client) -> None:
        publisher = BatchPublisher(client)
        cursor = 0  # a new session starts again at the oldest row not acknowledged
        batch = self._config.outbox.batch_size
        while True:
            rows = await self._outbox.fetch(cursor, batch)
            outcomes = await publisher.publish(rows)
            done = _settled_prefix(rows, outcomes)
            if done:
                self._outbox.ack(done)
                self.delivered += len(done)
                OUTBOX_DELIVERED.inc(len(done))
                MESSAGES.labels("mqtt", "out").inc(len(done))
            if len(done) < len(rows):
                raise aiomqtt.MqttError(f"publish failed: {outcomes[len(done)]}")
            cursor = rows[-1].seq

    async def _receive(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            topic = str(message.topic)
            payload = (
                message.payload
                if isinstance(message.payload, bytes)
                else str(message.payload).encode()
            )
            extra = next((h for f, h in self._extra if message.topic.matches(f)), None)
            # No shared pool of slots: one device's slow commands never hold up another's
            # (the router bounds what is in progress per device).
            task = asyncio.create_task(
                extra(topic, payload)
                if extra is not None
                else self._handle_command(client, topic, payload, message.properties)
            )
            self._command_tasks.add(task)
            task.add_done_callback(self._command_done)

    def _command_done(self, task: asyncio.Task[None]) -> None:
        self._command_tasks.discard(task)

    async def _handle_command(
        self, client: aiomqtt.Client, topic: str, payload: bytes, properties: Properties | None
    ) -> None:
        parsed = self._topics.parse_command(topic)
        if parsed is None:
            return
        MESSAGES.labels("mqtt", "in").inc()
        kind, device_id, name = parsed
        request, args, rejection = self._router.parse(kind, device_id, name, payload)
        bound = log.bind(
            device_id=device_id, command=name, request_id=request.request_id if request else None
        )
        if rejection is not None:
            bound.warning("command_rejected", reason=rejection.reason)
            result = rejection
        else:
            assert request is not None
            bound.info("command_received", args=request.payload)
            result = await self._router.dispatch(request, args)
            bound.info("command_result", status=result.status.value, reason=result.reason)
        known = request is not None and (request.target, name) in COMMAND_SCHEMAS
        # Label values stay a bounded set: topics from outside may carry any name.
        COMMAND_RESULTS.labels(
            kind if known else "invalid", name if known else "invalid", result.status.value
        ).inc()
        await self._publish_result(client, topic, request, result, properties)

    async def _publish_result(
        self,
        client: aiomqtt.Client,
        topic: str,
        request: CommandRequest | None,
        result: CommandResult,
        request_props: Properties | None,
    ) -> None:
        body = {
            "id": request.request_id if request else None,
            "status": result.status.value,
            "reason": result.reason,
            "detail": dict(result.detail),
            "ts": format_ts(self._clock.time()),
        }
        data = json.dumps(body, separators=(",", ":"), default=str).encode()
        try:
            await client.publish(Topics.result_topic(topic), data, qos=1)
            response_topic = (
                getattr(request_props, "ResponseTopic", None) if request_props else None
            )
            if response_topic:
                props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
                correlation = getattr(request_props, "CorrelationData", None)
                if correlation is not None:
                    props.CorrelationData = correlation
                await client.publish(response_topic, data, qos=1, properties=props)
        except aiomqtt.MqttError as exc:
            log.warning("command_result_not_sent", topic=topic, error=str(exc))


def _refuses_protocol(exc: aiomqtt.MqttError) -> bool:
    """A CONNACK that refuses the protocol version (not credentials, not a network error)."""
    if not isinstance(exc, MqttConnectError):
        return False
    code = getattr(exc.rc, "value", exc.rc)
    return code in PROTOCOL_REFUSED_CODES


def _settled_prefix(rows: list[OutboxRow], outcomes: list[BaseException | None]) -> list[int]:
    """Seqs settled before the first transport failure; later rows are re-sent to keep order.

    A row the broker refused (PUBACK failure code, e.g. an ACL) is settled too: sending it
    again cannot succeed and would hold up everything behind it. It is logged and counted.
    """
    settled: list[int] = []
    for row, outcome in zip(rows, outcomes, strict=True):
        if isinstance(outcome, PublishRefused):
            log.error("mqtt_publish_refused", topic=row.topic, seq=row.seq, reason=str(outcome))
            PUBLISH_REFUSED.inc()
        elif outcome is not None:
            break
        settled.append(row.seq)
    return settled
