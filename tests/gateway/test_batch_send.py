"""A batch sent the short way (one buffer, one write, light records in paho's session) is what
paho's own `publish()` makes of it: the same bytes on the wire, the same session bookkeeping,
the same resend after a reconnect, and at a real Mosquitto the same messages.

The reference in every property is a plain paho client (or the batch publisher with the
short way switched off) fed the same rows.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aiomqtt
import paho.mqtt.client as paho
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.subscribeoptions import SubscribeOptions

from gateway.demo.broker import PrivateMosquitto
from gateway.mqtt import batch_publisher
from gateway.mqtt.batch_publisher import BatchPublisher
from gateway.mqtt.packets import MAX_REMAINING, encode_publishes, remaining_length, topic_field
from gateway.mqtt.paho_shortcuts import OutboxMessage, PubackShortcut, send_batch
from gateway.outbox import OutboxRow
from tests.gateway.paho_packets import feed_packet

PROTOCOLS = [MQTTProtocolVersion.MQTTv5, MQTTProtocolVersion.MQTTv311]

topic_chars = st.characters(codec="utf-8", exclude_characters="\x00") | st.sampled_from("+#/")
topics = st.text(topic_chars, max_size=30) | st.sampled_from(
    ["pilebridge/site/charger/CP-1/telemetry", "a", "/", "x" * 70_000]
)
sizes = st.integers(90, 140) | st.integers(16_300, 16_420) | st.integers(0, 17_000)
payloads = st.binary(max_size=300) | sizes.map(lambda n: (bytes(range(251)) * 68)[:n])
"""Remaining Lengths on both sides of one and two bytes (127/128, 16383/16384)."""
rows_of = st.lists(st.tuples(topics, payloads, st.booleans()), min_size=1, max_size=8)


def as_rows(spec: list[tuple[str, bytes, bool]]) -> list[OutboxRow]:
    return [OutboxRow(i + 1, t, p, r, True) for i, (t, p, r) in enumerate(spec)]


class Wire:
    """A non-blocking socket that takes at most `room` bytes per send (None: all), or none."""

    def __init__(self, room: int | None = None, *, blocked: bool = False) -> None:
        self.room, self.blocked = room, blocked
        self.sent = bytearray()

    def send(self, data: bytes) -> int:
        if self.blocked:
            raise BlockingIOError
        n = len(data) if self.room is None else min(self.room, len(data))
        self.sent += data[:n]
        return n

    def recv(self, size: int) -> bytes:
        raise BlockingIOError

    def close(self) -> None:
        pass


def wired_client(protocol: MQTTProtocolVersion, window: int, wire: Wire) -> paho.Client:
    client = paho.Client(CallbackAPIVersion.VERSION2, protocol=protocol)
    client.max_inflight_messages_set(window)
    client._sock = wire  # type: ignore[assignment]
    client.on_socket_register_write = lambda *_: None  # queue; the test reads the queue
    return client


def on_wire(client: paho.Client, wire: Wire) -> bytes:
    """What was written, then what is still queued (from where its writing stopped)."""
    queued = b"".join(bytes(p["packet"][p["pos"] :]) for p in client._out_packet)
    return bytes(wire.sent) + queued


def publish_each(client: paho.Client, rows: list[OutboxRow]) -> list[int]:
    return [client.publish(r.topic, r.payload, qos=1, retain=r.retain).mid for r in rows]


def session(client: paho.Client) -> list[tuple[Any, ...]]:
    """paho's record of each message in flight, as its session code reads it."""
    return [
        (mid, m.mid, m.topic, bytes(m.payload), m.qos, bool(m.retain), m.dup, m.state)
        for mid, m in client._out_messages.items()
    ]


# -- the packets ----------------------------------------------------------------------------


@given(
    value=st.integers(0, MAX_REMAINING)
    | st.sampled_from([127, 128, 16383, 16384, 2**21 - 1, 2**21])
)
def test_remaining_length_is_paho_s(value: int) -> None:
    client = paho.Client(CallbackAPIVersion.VERSION2)
    assert remaining_length(value) == bytes(client._pack_remaining_length(bytearray(), value))


@pytest.mark.parametrize("protocol", PROTOCOLS)
@given(spec=rows_of, last_mid=st.integers(0, 65535))
def test_packets_are_byte_for_byte_paho_s(
    protocol: MQTTProtocolVersion, spec: list[tuple[str, bytes, bool]], last_mid: int
) -> None:
    rows = as_rows(spec)
    v5 = protocol == MQTTProtocolVersion.MQTTv5
    client = wired_client(protocol, 0, Wire(blocked=True))
    client._last_mid = last_mid
    try:
        mids = publish_each(client, rows)
    except ValueError:  # a topic paho refuses: the short way does not take the batch either
        assert encode_publishes(rows, range(1, len(rows) + 1), mqtt5=v5) is None
        return
    encoded = encode_publishes(rows, mids, mqtt5=v5)
    if encoded is None:  # only an empty topic, which MQTT 5 allows with a topic alias
        assert v5 and any(r.topic == "" for r in rows)
        return
    assert encoded == b"".join(bytes(p["packet"]) for p in client._out_packet)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_packets_at_the_length_boundaries_are_paho_s(protocol: MQTTProtocolVersion) -> None:
    """Every Remaining Length from 110 to 140 and from 16370 to 16400 (one byte to two, two
    to three), retained or not."""
    v5 = protocol == MQTTProtocolVersion.MQTTv5
    for size in [*range(100, 130), *range(16_360, 16_390)]:
        rows = as_rows([("t/x", b"p" * size, False), ("t/x", b"q" * size, True)])
        client = wired_client(protocol, 0, Wire(blocked=True))
        mids = publish_each(client, rows)
        expected = b"".join(bytes(p["packet"]) for p in client._out_packet)
        assert encode_publishes(rows, mids, mqtt5=v5) == expected, size


def test_what_paho_refuses_is_not_taken() -> None:
    good = OutboxRow(1, "ok/t", b"{}", False, True)
    for topic in ["", "a/+", "a/#", "\ud800", "x" * 65536]:
        assert topic_field(topic) is None
        assert (
            encode_publishes([good, OutboxRow(2, topic, b"", False, True)], [1, 2], mqtt5=True)
            is None
        )
    not_bytes: Any = bytearray(b"{}")
    assert encode_publishes([OutboxRow(1, "ok/t", not_bytes, False, True)], [1], mqtt5=True) is None
    assert topic_field("ok/t") == b"\x00\x04ok/t"


# -- paho's session -------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
@given(
    spec=rows_of.filter(lambda s: all(topic_field(t) for t, _, _ in s)),
    window=st.integers(0, 12),
    before=st.integers(0, 4),
    last_mid=st.sampled_from([0, 100, 65530, 65535]),
    room=st.none() | st.integers(0, 200),
    queued_ahead=st.booleans(),
    bound=st.sampled_from([0, 3, 8]),
)
def test_a_batch_sent_at_once_leaves_paho_as_its_publish_does(
    protocol: MQTTProtocolVersion,
    spec: list[tuple[str, bytes, bool]],
    window: int,
    before: int,
    last_mid: int,
    room: int | None,
    queued_ahead: bool,
    bound: int,
) -> None:
    """Same mids, bytes and order on the wire, records in flight and in-flight count; a
    batch that does not fit the window (or paho's queue bound) is left to paho, untouched."""
    rows = as_rows(spec)
    wires = Wire(room), Wire(room)
    plain, fast = (wired_client(protocol, window, w) for w in wires)
    for client in (plain, fast):
        client.max_queued_messages_set(bound)
        client._last_mid = last_mid
        for i in range(before):  # aiomqtt's own publishes, still in flight (or queued)
            client.publish(f"own/{i}", b"own", qos=1)
        if queued_ahead:  # something of paho's waits to be written: the batch goes after it
            client._packet_queue(0xC0, bytearray(b"\xc0\x00"), 0, 0)
    before_state = session(fast), on_wire(fast, wires[1]), fast._last_mid
    fits = (window == 0 or fast._inflight_messages + len(rows) <= window) and (
        bound == 0 or len(fast._out_messages) + len(rows) <= bound
    )
    mids = send_batch(fast, rows)
    if not fits:
        assert mids is None
        assert (session(fast), on_wire(fast, wires[1]), fast._last_mid) == before_state
        return
    infos = [plain.publish(r.topic, r.payload, qos=1, retain=r.retain) for r in rows]
    assert all(i.rc == paho.MQTT_ERR_SUCCESS for i in infos)
    assert mids == [i.mid for i in infos]
    assert on_wire(fast, wires[1]) == on_wire(plain, wires[0])
    assert session(fast) == session(plain)
    assert fast._inflight_messages == plain._inflight_messages
    assert fast._last_mid == plain._last_mid
    if queued_ahead:
        assert not wires[1].sent  # nothing overtook what paho had queued


def test_mids_still_in_flight_are_passed_over() -> None:
    wire = Wire()
    client = wired_client(MQTTProtocolVersion.MQTTv5, 0, wire)
    client._last_mid = 65533
    held = {65535, 1}
    for mid in held:
        client._out_messages[mid] = OutboxMessage(mid, OutboxRow(0, "x", b"", False, True), 0.0)
    mids = send_batch(client, as_rows([("t", b"1", False), ("t", b"2", False), ("t", b"3", False)]))
    assert mids == [65534, 2, 3]
    assert client._last_mid == 3
    assert client.publish("own", b"", qos=1).mid == 4


def connack(client: paho.Client) -> None:
    """The broker's CONNACK (session present) to a reconnect of this same client."""
    v5 = client._protocol == MQTTProtocolVersion.MQTTv5
    body = b"\x01\x00\x00" if v5 else b"\x01\x00"
    assert feed_packet(client, 0x20, body) == paho.MQTT_ERR_SUCCESS


@pytest.mark.parametrize("protocol", PROTOCOLS)
@given(
    spec=rows_of.filter(lambda s: all(topic_field(t) for t, _, _ in s)),
    window=st.integers(0, 12),
    acked=st.sets(st.integers(0, 7)),
)
def test_paho_resends_a_batch_after_a_reconnect_as_it_resends_its_own(
    protocol: MQTTProtocolVersion, spec: list[tuple[str, bytes, bool]], window: int, acked: set[int]
) -> None:
    """paho's own session handling (reset, then resend with DUP on CONNACK) works on the
    light records as on its `MQTTMessage`s."""
    rows = as_rows(spec)
    window = max(window, len(rows)) if window else 0
    wires = Wire(), Wire()
    plain, fast = (wired_client(protocol, window, w) for w in wires)
    mids = publish_each(plain, rows)
    assert send_batch(fast, rows) == mids
    ours = set(mids)
    PubackShortcut(fast, ours, lambda _: None)
    for i in sorted(acked):
        if i < len(mids):
            for client in (plain, fast):
                client._in_packet = {
                    "command": 0x40,
                    "have_remaining": 1,
                    "remaining_count": [2],
                    "remaining_mult": 1,
                    "remaining_length": 2,
                    "packet": bytearray(mids[i].to_bytes(2, "big")),
                    "to_process": 0,
                    "pos": 0,
                }
                client._packet_handle()
    for client, wire in zip((plain, fast), wires, strict=True):
        wire.sent.clear()
        client._out_packet.clear()
        client._messages_reconnect_reset_out()
        connack(client)
    assert session(fast) == session(plain)
    assert on_wire(fast, wires[1]) == on_wire(plain, wires[0])
    assert fast._inflight_messages == plain._inflight_messages


# -- a real broker ---------------------------------------------------------------------------

Received = list[tuple[str, bytes, bool, int]]


@contextmanager
def reference_path() -> Iterator[None]:
    """The batch publisher with the short way switched off: paho's `publish()` per row."""
    taken = batch_publisher.send_batch
    batch_publisher.send_batch = lambda client, rows: None  # type: ignore[assignment]
    try:
        yield
    finally:
        batch_publisher.send_batch = taken


broker_topics = st.lists(
    st.text(
        st.characters(
            codec="utf-8", exclude_characters="+#", exclude_categories=["Cc", "Cs", "Cn"]
        ),
        min_size=1,
        max_size=12,
    ),
    min_size=1,
    max_size=3,
).map("/".join)
broker_rows = st.lists(
    st.tuples(
        broker_topics,
        st.binary(max_size=200) | st.sampled_from([b"", b"x" * 20_000]),
        st.booleans(),
    ),
    min_size=1,
    max_size=12,
)


@pytest.mark.parametrize("protocol", [aiomqtt.ProtocolVersion.V5, aiomqtt.ProtocolVersion.V311])
async def test_a_batch_sent_at_once_arrives_as_paho_s_own_publishes_do(
    mosquitto: PrivateMosquitto, protocol: aiomqtt.ProtocolVersion
) -> None:
    """Topic, payload, retain flag and QoS, in order, as the reference path delivers them."""
    loop = asyncio.get_running_loop()
    keep = SubscribeOptions(qos=1, retainAsPublished=True)
    taken = batch_publisher.send_batch
    went_fast: list[bool] = []

    def counting(client: paho.Client, rows: Any) -> list[int] | None:
        mids = taken(client, rows)
        went_fast.append(mids is not None)
        return mids

    async with (
        aiomqtt.Client(
            mosquitto.host, mosquitto.port, protocol=aiomqtt.ProtocolVersion.V5
        ) as subscriber,
        aiomqtt.Client(
            mosquitto.host, mosquitto.port, protocol=protocol, max_inflight_messages=20
        ) as client,
    ):
        await subscriber.subscribe("fast/#", options=keep)
        await subscriber.subscribe("ref/#", options=keep)
        publisher = BatchPublisher(client)
        messages = subscriber.messages

        async def deliver(spec: list[tuple[str, bytes, bool]]) -> tuple[Received, Received]:
            got: dict[str, Received] = {"fast": [], "ref": []}
            for way in ("fast", "ref"):
                rows = [OutboxRow(i, f"{way}/{t}", p, r, True) for i, (t, p, r) in enumerate(spec)]
                if way == "fast":
                    batch_publisher.send_batch = counting  # type: ignore[assignment]
                    try:
                        assert await publisher.publish(rows) == [None] * len(rows)
                    finally:
                        batch_publisher.send_batch = taken
                    assert went_fast[-1]  # the short way took it
                else:
                    with reference_path():
                        assert await publisher.publish(rows) == [None] * len(rows)
                async with asyncio.timeout(20):
                    while len(got[way]) < len(rows):
                        m = await anext(messages)
                        got[way].append(
                            (str(m.topic)[len(way) + 1 :], bytes(m.payload), bool(m.retain), m.qos)
                        )  # type: ignore[arg-type]
            return got["fast"], got["ref"]

        @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(spec=broker_rows)
        def check(spec: list[tuple[str, bytes, bool]]) -> None:
            fast, ref = asyncio.run_coroutine_threadsafe(deliver(spec), loop).result(60)
            assert fast == ref
            assert [(t, p, r) for t, p, r, _ in fast] == spec
            assert {q for *_, q in fast} == {1}

        await asyncio.to_thread(check)


async def test_a_batch_larger_than_the_socket_buffer_goes_out_whole(
    mosquitto: PrivateMosquitto,
) -> None:
    """What one send() does not take is written by paho's writer from where it stopped."""
    async with (
        aiomqtt.Client(mosquitto.host, mosquitto.port) as subscriber,
        aiomqtt.Client(mosquitto.host, mosquitto.port, max_inflight_messages=200) as client,
    ):
        await subscriber.subscribe("big/#", qos=1)
        client._client._sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)  # type: ignore[union-attr]
        publisher = BatchPublisher(client)
        rows = [OutboxRow(i, f"big/{i}", bytes([i % 256]) * 5000, False, True) for i in range(200)]
        assert await asyncio.wait_for(publisher.publish(rows), 30) == [None] * 200
        assert not client._client._out_packet
        got = []
        async with asyncio.timeout(30):
            async for m in subscriber.messages:
                got.append((str(m.topic), m.payload))
                if len(got) == 200:
                    break
    assert got == [(r.topic, r.payload) for r in rows]
