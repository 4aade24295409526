"""The batch publisher's short cuts through paho do what paho itself does, byte for byte.

Properties compare a client using the short cuts with a plain paho client fed the same
publishes and PUBACKs (its bookkeeping, what it sends next, who is told of which ack); a
real Mosquitto checks that a batch larger than the in-flight window arrives whole and in
order.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiomqtt
import paho.mqtt.client as paho
import pytest
from hypothesis import given
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from gateway.demo.broker import PrivateMosquitto
from gateway.mqtt.batch_publisher import BatchPublisher, PublishRefused
from gateway.mqtt.paho_shortcuts import PubackShortcut, ReadAhead, coalesce
from gateway.outbox import OutboxRow
from tests.gateway.paho_packets import feed_packet

PUBACK = 0x40


class NoSocket:
    """Stands in for the socket: `_send_publish` only checks that there is one."""

    def close(self) -> None:
        pass


def offline_client(protocol: MQTTProtocolVersion, max_inflight: int) -> paho.Client:
    """A paho client whose packets stay in its write queue (no socket, no loop)."""
    client = paho.Client(CallbackAPIVersion.VERSION2, protocol=protocol)
    client.max_inflight_messages_set(max_inflight)
    client._sock = NoSocket()  # type: ignore[assignment]
    client.on_socket_register_write = lambda *_: None  # queue, never write
    return client


Told = list[tuple[int, bool]]


def told_client(protocol: MQTTProtocolVersion, max_inflight: int) -> tuple[paho.Client, Told]:
    """An offline client and the (mid, failed) of every publish paho reports as settled."""
    client = offline_client(protocol, max_inflight)
    told: Told = []
    client.on_publish = lambda c, u, mid, rc, p: told.append((mid, rc.is_failure))
    return client, told


def feed_puback(client: paho.Client, body: bytes) -> None:
    feed_packet(client, PUBACK, body)


def puback_body(mid: int, reason: int | None, v5: bool) -> bytes:
    body = mid.to_bytes(2, "big")
    if v5 and reason is not None:
        body += bytes([reason, 0])
    return body


def state(client: paho.Client) -> tuple[Any, ...]:
    return (
        sorted(client._out_messages),
        client._inflight_messages,
        [bytes(p["packet"]) for p in client._out_packet],
        sorted(m.mid for m in client._out_messages.values() if m.state == paho.mqtt_ms_queued),
    )


acks = st.lists(
    st.tuples(
        st.integers(0, 12),  # index into the published mids (12 = a mid nobody published)
        st.sampled_from([None, 0x00, 0x10, 0x80, 0x87, 0x97]),
    ),
    max_size=20,
)


@pytest.mark.parametrize("protocol", [MQTTProtocolVersion.MQTTv5, MQTTProtocolVersion.MQTTv311])
@given(
    count=st.integers(1, 12),
    window=st.integers(1, 6),
    claimed=st.sets(st.integers(0, 11)),
    sequence=acks,
)
def test_puback_shortcut_keeps_paho_bookkeeping_exactly(
    protocol: MQTTProtocolVersion, count: int, window: int, claimed: set[int], sequence: list[Any]
) -> None:
    v5 = protocol == MQTTProtocolVersion.MQTTv5
    (plain, told_plain), (fast, told_fast) = (
        told_client(protocol, window),
        told_client(protocol, window),
    )
    mids = []
    for i in range(count):
        mids.append(plain.publish(f"t/{i}", b"x" * i, qos=1).mid)
        assert fast.publish(f"t/{i}", b"x" * i, qos=1).mid == mids[-1]
    ours = {mids[i] for i in claimed if i < count}
    PubackShortcut(fast, ours, lambda acked: told_fast.extend((m, False) for m in acked))
    for index, reason in sequence:
        mid = mids[index] if index < count else 4242
        feed_puback(plain, puback_body(mid, reason, v5))
        feed_puback(fast, puback_body(mid, reason, v5))
        assert state(fast) == state(plain)
    assert sorted(told_fast) == sorted(told_plain)


def queued(client: paho.Client) -> list[bytes]:
    return [bytes(p["packet"]) for p in client._out_packet]


@given(
    kinds=st.lists(st.sampled_from(["ours", "other_qos1", "qos0"]), min_size=1, max_size=15),
    started=st.booleans(),
)
def test_coalesce_keeps_the_bytes_and_their_order(kinds: list[str], started: bool) -> None:
    client = offline_client(MQTTProtocolVersion.MQTTv5, 100)
    ours = set()
    for i, kind in enumerate(kinds):
        info = client.publish(f"t/{i}", f"payload {i}".encode(), qos=0 if kind == "qos0" else 1)
        if kind == "ours":
            ours.add(info.mid)
    if started:  # the head was partly written already: it must stay as it is
        client._out_packet[0]["pos"] = 1
    before = queued(client)
    head = bytes(client._out_packet[0]["packet"])
    saved = coalesce(client, ours)
    after = queued(client)
    assert b"".join(after) == b"".join(before)
    assert len(after) == len(before) - saved
    if started:
        assert client._out_packet[0]["pos"] == 1
        assert bytes(client._out_packet[0]["packet"]) == head
    runs = sum(1 for i, k in enumerate(kinds) if k == "ours" and (i == 0 or kinds[i - 1] != "ours"))
    if not started:
        assert saved == kinds.count("ours") - runs


async def test_a_batch_larger_than_the_window_arrives_whole_and_in_order(
    mosquitto: PrivateMosquitto,
) -> None:
    received: list[bytes] = []
    async with aiomqtt.Client(mosquitto.host, mosquitto.port) as subscriber:
        await subscriber.subscribe("batch/#", qos=1)
        async with aiomqtt.Client(
            mosquitto.host,
            mosquitto.port,
            protocol=aiomqtt.ProtocolVersion.V5,
            max_inflight_messages=7,
        ) as client:
            publisher = BatchPublisher(client)
            rows = [
                OutboxRow(i, f"batch/{i % 3}", json.dumps({"seq": i}).encode(), False, True)
                for i in range(1, 301)
            ]
            for start in (0, 150):
                outcomes = await asyncio.wait_for(publisher.publish(rows[start : start + 150]), 30)
                assert outcomes == [None] * 150
            await client.publish("batch/own", b"aiomqtt's own publish", qos=1)  # still acked
        async with asyncio.timeout(30):
            async for message in subscriber.messages:
                received.append(message.payload)
                if len(received) == 301:
                    break
    assert [json.loads(p)["seq"] for p in received[:300]] == list(range(1, 301))
    assert received[300] == b"aiomqtt's own publish"


async def test_a_refused_row_is_reported_and_the_rest_acknowledged() -> None:
    broker = PrivateMosquitto(acl_rules="topic readwrite ok/#\ntopic read denied/#\n")
    await broker.start()
    try:
        async with aiomqtt.Client(
            broker.host, broker.port, protocol=aiomqtt.ProtocolVersion.V5
        ) as client:
            publisher = BatchPublisher(client)
            topics = ["ok/1", "denied/2", "ok/3", "denied/4", "ok/5"]
            rows = [OutboxRow(i, t, b"{}", False, True) for i, t in enumerate(topics)]
            outcomes = await asyncio.wait_for(publisher.publish(rows), 30)
        assert [o is None for o in outcomes] == [True, False, True, False, True]
        assert all(isinstance(o, PublishRefused) for o in outcomes if o is not None)
    finally:
        await broker.stop()
        broker.cleanup()


class Chunks:
    """A non-blocking socket that has received `chunks` so far, and then has nothing more
    (`ending` None), meets the end of the stream ("eof") or a reset ("reset")."""

    def __init__(self, chunks: list[bytes], ending: str | None = None) -> None:
        self.chunks = list(chunks)
        self.ending = ending
        self.closed = False

    def recv(self, size: int) -> bytes:
        if not self.chunks:
            if self.ending == "eof":
                return b""
            if self.ending == "reset":
                raise ConnectionResetError
            raise BlockingIOError
        head = self.chunks.pop(0)
        if len(head) > size:
            self.chunks.insert(0, head[size:])
        return head[:size]

    def close(self) -> None:
        self.closed = True


@given(
    chunks=st.lists(st.binary(min_size=1, max_size=40), max_size=8),
    reads=st.lists(st.integers(1, 9), max_size=60),
)
def test_read_ahead_hands_out_the_stream_unchanged(chunks: list[bytes], reads: list[int]) -> None:
    ahead = ReadAhead(Chunks(chunks))
    got = b""
    for size in [*reads, *[7] * 100]:
        try:
            part = ahead.recv(size)
        except BlockingIOError:  # dry: nothing is left behind in the read-ahead buffer
            assert ahead.pending() == 0
            break
        assert 0 < len(part) <= size
        got += part
        assert len(got) + ahead.pending() <= len(b"".join(chunks))
    assert got == b"".join(chunks)
    ahead.close()
    assert ahead._sock.closed


def packet_bytes(mid: int, form: str) -> bytes:
    """A PUBACK (or a PINGRESP) as a broker writes it."""
    m = mid.to_bytes(2, "big")
    return {
        "puback": b"\x40\x02" + m,
        "puback_rc0": b"\x40\x03" + m + b"\x00",
        "puback_rc10": b"\x40\x03" + m + b"\x10",
        "puback_rc87": b"\x40\x03" + m + b"\x87",
        "puback_rc10_props": b"\x40\x04" + m + b"\x10\x00",
        "puback_refused": b"\x40\x04" + m + b"\x87\x00",
        "pingresp": b"\xd0\x00",
    }[form]


@pytest.mark.parametrize("protocol", [MQTTProtocolVersion.MQTTv5, MQTTProtocolVersion.MQTTv311])
@given(
    count=st.integers(1, 10),
    window=st.integers(1, 6),
    claimed=st.sets(st.integers(0, 9)),
    sequence=st.lists(
        st.tuples(
            st.integers(0, 10),
            st.sampled_from(
                [
                    "puback",
                    "puback_rc0",
                    "puback_rc10",
                    "puback_rc87",
                    "puback_rc10_props",
                    "puback_refused",
                    "pingresp",
                ]
            ),
        ),
        max_size=16,
    ),
    cuts=st.lists(st.integers(1, 200), max_size=6),
    ending=st.sampled_from([None, "eof", "reset"]),
)
def test_pubacks_read_ahead_are_settled_as_paho_settles_them(
    protocol: MQTTProtocolVersion,
    count: int,
    window: int,
    claimed: set[int],
    sequence: list[Any],
    cuts: list[int],
    ending: str | None,
) -> None:
    """... and the end of the stream, or an error, reaches paho as it would unread."""
    v5 = protocol == MQTTProtocolVersion.MQTTv5
    (plain, told_plain), (fast, told_fast) = (
        told_client(protocol, window),
        told_client(protocol, window),
    )
    mids = [plain.publish(f"t/{i}", b"x", qos=1).mid for i in range(count)]
    assert [fast.publish(f"t/{i}", b"x", qos=1).mid for i in range(count)] == mids
    ours = {mids[i] for i in claimed if i < count}
    PubackShortcut(fast, ours, lambda acked: told_fast.extend((m, False) for m in acked))
    stream = b"".join(
        packet_bytes(mids[i] if i < count else 4242, form if v5 else "puback")
        if form != "pingresp"
        else packet_bytes(0, form)
        for i, form in sequence
    )
    points = sorted({c for c in cuts if c < len(stream)})
    chunks = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]
    plain._sock = Chunks([c for c in chunks if c], ending)  # type: ignore[assignment]
    fast._sock = ReadAhead(Chunks([c for c in chunks if c], ending))
    results: tuple[set[int], set[int]] = set(), set()
    for _ in range(len(sequence) + len(chunks) + 2):
        results[0].add(plain.loop_read())
        results[1].add(fast.loop_read())
    assert state(fast) == state(plain)
    assert sorted(told_fast) == sorted(told_plain)
    lost = paho.MQTT_ERR_CONN_LOST
    assert (lost in results[1]) == (lost in results[0]) == (ending is not None)
    assert (fast._sock is None) == (plain._sock is None) == (ending is not None)


async def test_the_broker_s_pubacks_take_the_short_cut(mosquitto: PrivateMosquitto) -> None:
    async with aiomqtt.Client(
        mosquitto.host, mosquitto.port, protocol=aiomqtt.ProtocolVersion.V5
    ) as client:
        publisher = BatchPublisher(client)
        sock = client._client._sock
        assert isinstance(sock, ReadAhead)
        taken: list[int] = []
        take = sock.take_pubacks

        def counting(claimed: Any, v5: bool, limit: int = 0) -> list[int]:
            mids = take(claimed, v5, limit)
            taken.extend(mids)
            return mids

        sock.take_pubacks = counting  # type: ignore[method-assign]
        rows = [OutboxRow(i, "fast/t", b"{}", False, True) for i in range(1, 101)]
        assert await asyncio.wait_for(publisher.publish(rows), 30) == [None] * 100
    # Mosquitto acknowledges these (no subscriber) as `40 03 mid 10`: read without paho's reader
    assert sorted(taken) == sorted(set(taken)) and len(taken) == 100
