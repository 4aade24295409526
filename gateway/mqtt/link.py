"""The gateway's one MQTT connection: availability, info, outbox delivery and command intake.

Each connection attempt uses a fresh client; between attempts the delay comes from the shared
backoff generator. While connected, two tasks share the session: `_deliver` drains the outbox
in order (a row is acknowledged to the outbox only after its PUBACK), `_receive` takes commands.
When either fails the session ends, rows not acknowledged are sent again on the next session.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any

import aiomqtt
import structlog
from aiomqtt.exceptions import MqttConnectError
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from gateway import wire
from gateway.foundation.clock import Clock, SystemClock, format_ts
from gateway.foundation.commands.router import CommandRouter
from gateway.foundation.commands.schemas import COMMAND_SCHEMAS
from gateway.foundation.config import MqttConfig
from gateway.foundation.logs import bounded
from gateway.foundation.metrics import COMMAND_RESULTS, MESSAGES, MQTT_CONNECTED, OUTBOX_DELIVERED
from gateway.foundation.model import CommandRequest, CommandResult
from gateway.mqtt.batch_publisher import BatchPublisher
from gateway.mqtt.broker_rotation import PROTOCOL_REFUSED_CODES, BrokerChoice, BrokerRotation
from gateway.mqtt.client_factory import ConnackProbe, make_client
from gateway.mqtt.delivery import MAX_ATTEMPTS, PACKET_FAULTS, Suspect, fit_rows, settle
from gateway.mqtt.intake import ReplyTo, reply_to, retained_rejection
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
        self._suspect: Suspect | None = None
        self._in_flight: list[OutboxRow] = []
        """Rows published and not yet settled in this session."""
        self._careful_until = 0
        """After a packet fault, rows up to this seq are sent one at a time to find the one."""
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
            probe = ConnackProbe(client)
            self._in_flight = []
            established = False
            try:
                async with client:
                    established = True
                    self.broker = broker
                    rotation.connected()
                    self._set_connected(client)
                    log.info(
                        "mqtt_connected",
                        broker=broker.address,
                        protocol=broker.protocol,
                        maximum_packet_size=probe.maximum_packet_size,
                    )
                    was_down_logged = False
                    await self._session(client, probe)
                    return  # a session only ends without error when we are stopping
            except aiomqtt.MqttError as exc:
                self._blame(probe, mqtt5=broker.mqtt5)
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

    def _blame(self, probe: ConnackProbe, *, mqtt5: bool) -> None:
        """The broker dropped us for a packet fault: count it against the oldest row in flight.

        MQTT 3.1.1 has no DISCONNECT from the broker: Mosquitto closes the socket on a packet
        over its `max_packet_size` (and advertises no maximum to a 3.1.1 client), so there any
        loss with rows in flight is taken as a possible fault (delivery.py)."""
        rows, reason = self._in_flight, probe.disconnect_reason
        if not rows or (mqtt5 and reason not in PACKET_FAULTS):
            return
        reason = reason if mqtt5 else None
        self._careful_until = max(self._careful_until, rows[-1].seq)
        if len(rows) > 1:
            log.warning("mqtt_packet_fault", reason_code=reason, rows_in_flight=len(rows))
            return  # not yet known which one: the next session sends them one at a time
        row = rows[0]
        if self._suspect is not None and self._suspect.row.seq == row.seq:
            self._suspect.attempts += 1
        else:
            self._suspect = Suspect(row)
        self._suspect.reason = reason
        log.warning(
            "mqtt_record_suspect",
            topic=row.topic[:200],
            seq=row.seq,
            reason_code=reason,
            attempts=self._suspect.attempts,
        )

    async def _session(self, client: aiomqtt.Client, probe: ConnackProbe) -> None:
        # Subscribe before saying `online`: a control centre that sees `online` (or `info`)
        # may command at once, and a command published before the subscription is lost.
        # Retain Handling 2: the broker never sends a retained command on (re)subscribe;
        # Retain As Published: a command published with the retain flag still carries it,
        # so it is answered `rejected`, never executed (it would run again on every connect).
        # (MQTT 3.1.1 has neither option; a retained command there arrives with the retain flag
        # on every subscribe and is answered `rejected` each time, never executed.)
        mqtt5 = self.broker is None or self.broker.mqtt5
        commands = SubscribeOptions(qos=1, retainAsPublished=True, retainHandling=2)
        for topic_filter in self._topics.command_filters:
            if mqtt5:
                await client.subscribe(topic_filter, options=commands)
            else:
                await client.subscribe(topic_filter, qos=1)
        for topic_filter, _ in self._extra:
            await client.subscribe(topic_filter, qos=1)
        await client.publish(self._topics.availability, b"online", qos=1, retain=True)
        info = wire.dumps(self._info())
        await client.publish(self._topics.info, info, qos=1, retain=True)
        try:
            async with asyncio.TaskGroup() as group:
                deliver = group.create_task(self._deliver(client, probe), name="mqtt-deliver")
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

    async def _deliver(self, client: aiomqtt.Client, probe: ConnackProbe) -> None:
        publisher = BatchPublisher(client)
        # No larger than the in-flight window: paho would hold the rest back and send each
        # one alone as a PUBACK frees a slot, instead of the whole batch in one write.
        batch = min(self._config.outbox.batch_size, self._config.max_inflight)
        cursor = 0  # a new session starts again at the oldest row not acknowledged
        sent_out = MESSAGES.labels("mqtt", "out")
        while True:
            careful = cursor < self._careful_until
            rows = await self._outbox.fetch(cursor, 1 if careful else batch)
            suspect = self._suspect
            if (
                suspect is not None
                and rows[0].seq == suspect.row.seq
                and suspect.attempts >= MAX_ATTEMPTS
            ):
                code = suspect.reason
                cause = "MQTT 3.1.1: no reason given" if code is None else f"reason code {code:#x}"
                self._outbox.dead_letter(
                    rows[0],
                    f"the broker dropped the connection on it {suspect.attempts} times ({cause})",
                )
                self._suspect = None
                cursor = rows[0].seq
                continue
            cursor = rows[-1].seq
            sendable = fit_rows(
                rows, probe.maximum_packet_size, self._config.max_record_bytes, self._outbox
            )
            if not sendable:
                continue
            self._in_flight = sendable
            outcomes = await publisher.publish(sendable)
            done = settle(sendable, outcomes, self._outbox)
            self.delivered += done
            OUTBOX_DELIVERED.inc(done)
            sent_out.inc(done)
            if done < len(sendable):
                self._in_flight = sendable[done:]
                raise aiomqtt.MqttError(f"publish failed: {outcomes[done]}")
            self._in_flight = []
            if suspect is not None and cursor >= suspect.row.seq:
                self._suspect = None  # it went through after all

    async def _receive(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            extra = next((h for f, h in self._extra if message.topic.matches(f)), None)
            # No shared pool of slots: one device's slow commands never hold up another's
            # (the router bounds what is in progress per device).
            task = asyncio.create_task(
                extra(str(message.topic), _payload(message))
                if extra is not None
                else self._answer_command(client, message)
            )
            self._command_tasks.add(task)
            task.add_done_callback(self._command_done)

    def _command_done(self, task: asyncio.Task[None]) -> None:
        self._command_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:  # never "never retrieved"
            log.error("mqtt_handler_failed", error=bounded(repr(task.exception())))

    async def _answer_command(self, client: aiomqtt.Client, message: aiomqtt.Message) -> None:
        """Whatever the message holds, the sender gets a result and the intake goes on."""
        topic, payload = str(message.topic), _payload(message)
        try:
            await self._handle_command(
                client, topic, payload, message.properties, bool(message.retain)
            )
        except Exception:
            log.exception("command_intake_failed", topic=bounded(topic), bytes=len(payload))
            result = CommandResult.failed("internal error while taking the command")
            await self._publish_result(client, topic, None, result, ReplyTo(None))

    async def _handle_command(
        self,
        client: aiomqtt.Client,
        topic: str,
        payload: bytes,
        properties: Properties | None,
        retain: bool,
    ) -> None:
        parsed = self._topics.parse_command(topic)
        if parsed is None:
            return
        MESSAGES.labels("mqtt", "in").inc()
        kind, device_id, name = parsed
        request, args, rejection = self._router.parse(kind, device_id, name, payload)
        reply = reply_to(properties, self._topics.base)
        refusal = retained_rejection(retain) or (reply.refused if reply.invalid else None)
        if rejection is None and refusal is not None:
            rejection = CommandResult.rejected(refusal)
        bound = log.bind(
            device_id=bounded(device_id),
            command=bounded(name),
            request_id=request.request_id if request else None,
        )
        if rejection is not None:
            bound.warning("command_rejected", reason=bounded(rejection.reason))
            result = rejection
        else:
            assert request is not None
            bound.info("command_received", args=bounded(request.payload))
            result = await self._router.dispatch(request, args)
            bound.info("command_result", status=result.status.value, reason=bounded(result.reason))
        if reply.refused and not reply.invalid:
            bound.warning("command_response_topic_not_used", reason=reply.refused)
            result = CommandResult(
                result.status, result.reason, {**result.detail, "response_topic": reply.refused}
            )
        known = request is not None and (request.target, name) in COMMAND_SCHEMAS
        # Label values stay a bounded set: topics from outside may carry any name.
        COMMAND_RESULTS.labels(
            kind if known else "invalid", name if known else "invalid", result.status.value
        ).inc()
        await self._publish_result(client, topic, request, result, reply)

    async def _publish_result(
        self,
        client: aiomqtt.Client,
        topic: str,
        request: CommandRequest | None,
        result: CommandResult,
        reply: ReplyTo,
    ) -> None:
        body = {
            "id": request.request_id if request else None,
            "status": result.status.value,
            "reason": result.reason,
            "detail": dict(result.detail),
            "ts": format_ts(self._clock.time()),
        }
        try:
            data = wire.dumps(body)
        except (ValueError, TypeError, RecursionError) as exc:
            log.error("command_result_not_json", topic=bounded(topic), error=bounded(str(exc)))
            body["detail"] = {}
            body["reason"] = f"{result.reason or ''} (detail dropped: not JSON)".strip()
            data = wire.dumps(body)
        try:
            await client.publish(Topics.result_topic(topic), data, qos=1)
            if reply.topic is not None:
                props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
                if reply.correlation is not None:
                    props.CorrelationData = reply.correlation
                await client.publish(reply.topic, data, qos=1, properties=props)
        except aiomqtt.MqttError as exc:
            log.warning("command_result_not_sent", topic=bounded(topic), error=str(exc))


def _refuses_protocol(exc: aiomqtt.MqttError) -> bool:
    """A CONNACK that refuses the protocol version (not credentials, not a network error)."""
    if not isinstance(exc, MqttConnectError):
        return False
    code = getattr(exc.rc, "value", exc.rc)
    return code in PROTOCOL_REFUSED_CODES


def _payload(message: aiomqtt.Message) -> bytes:
    raw = message.payload
    return raw if isinstance(raw, bytes) else str(raw).encode()
