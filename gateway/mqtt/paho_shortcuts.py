"""Short cuts through paho's per-message work for the outbox's QoS 1 batches.

paho builds each publish through an `MQTTMessage` (with a `threading.Condition` for its
`MQTTMessageInfo`), queues each packet for its own `send()` (one system call, and one wake-up
of the event loop and of the broker, per record), and answers each PUBACK by building a
`ReasonCode`, a `Properties`, a log line and two callbacks: together most of the CPU a record
costs on the charging path. The short cuts leave paho in charge of the connection and of its
session bookkeeping (`_out_messages`, the in-flight count, `_out_packet`), which they keep
exactly as paho keeps it:

- `send_batch()`: a batch that fits the in-flight window is registered in `_out_messages` as
  light `OutboxMessage` records (the fields paho's session code reads), its PUBLISH packets
  are built into one buffer (packets.py) and written with one `send()` right away when
  paho has nothing queued before them; whatever the socket does not take joins paho's write
  queue, which goes on from there. Anything else is left to paho's own `publish()`;
- `coalesce()`: for batches paho's `publish()` queued, runs of unwritten QoS 1 PUBLISH
  packets become one entry of paho's write queue, so `loop_write()` sends them in one call;
- `PubackShortcut`: successful PUBACKs of mids the batch publisher waits for are settled
  here -- the message leaves `_out_messages`, the in-flight count drops and queued messages
  move up exactly as `_do_on_publish` does -- without the objects and callbacks. A run of
  them at the head of what was read is settled at once (`loop_read`); one met by paho's
  reader on its own is settled singly. Every other PUBACK (aiomqtt's own publishes, failure
  reason codes, malformed packets) goes through paho's own handler unchanged;
- `ReadAhead`: paho reads a packet with three `recv()` calls (type byte, length, body);
  wrapped around paho's socket, one `recv()` takes whatever the broker sent (a whole
  batch of PUBACKs) and hands it out in paho's small reads. It reports what it holds
  through `pending()`, the call aiomqtt already makes to drain a TLS socket's buffer, so
  nothing read ahead waits for the next readable event.

Written against paho-mqtt 2.2 internals (`_out_packet`, `_out_messages`, `_in_packet`,
`_inflight_messages`, `_last_mid`, `_handle_pubackcomp`, `_sock_send`);
tests/gateway/test_paho_shortcuts.py pins them.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Collection, Container, Sequence
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import MQTTErrorCode, MQTTProtocolVersion

from gateway.mqtt.packets import encode_publishes
from gateway.outbox_db import OutboxRow

__all__ = [
    "OutboxMessage",
    "PubackShortcut",
    "ReadAhead",
    "coalesce",
    "read_ahead",
    "send_batch",
]

_PUBLISH = 0x30
_PUBACK = 0x40
_MIDS = 65535
"""Packet ids there are (1..65535)."""


class _NoWaiter:
    """Stands for `MQTTMessageInfo` where nobody waits on the message's own Condition (the
    batch publisher waits for the whole batch on one future)."""

    __slots__ = ()
    rc = MQTTErrorCode.MQTT_ERR_SUCCESS

    def _set_as_published(self) -> None:
        pass


_NO_WAITER = _NoWaiter()


class OutboxMessage:
    """paho's record of an outbox row in flight, in its `_out_messages`: the fields its
    session code reads (in-flight accounting, a PUBACK through paho's own handler, a resend
    after a reconnect of the same client), without `MQTTMessage`'s Condition."""

    __slots__ = ("dup", "mid", "row", "state", "timestamp")
    qos = 1
    properties = None
    info = _NO_WAITER

    def __init__(self, mid: int, row: OutboxRow, timestamp: float) -> None:
        self.mid = mid
        self.row = row
        self.state = paho.mqtt_ms_wait_for_puback
        self.dup = False
        self.timestamp = timestamp

    @property
    def topic(self) -> str:
        return self.row.topic

    @property
    def payload(self) -> bytes:
        return self.row.payload

    @property
    def retain(self) -> bool:
        return self.row.retain


def send_batch(client: paho.Client, rows: Sequence[OutboxRow]) -> list[int] | None:
    """Publish `rows` at QoS 1 in paho's session, written in one go; their mids in order.

    None, with nothing done, where paho's own `publish()` must take the batch: not connected,
    not enough room in the in-flight window (paho would queue the rest) or in its queue
    bound, a row `packets.py` does not take.
    """
    count = len(rows)
    if client._sock is None or not count:
        return None
    window = client._max_inflight_messages
    if window and client._inflight_messages + count > window:
        return None
    out: Any = client._out_messages
    bound = client._max_queued_messages
    if len(out) + count > (min(bound, _MIDS) if bound > 0 else _MIDS):
        return None
    with client._mid_generate_mutex:
        mids = _next_mids(client._last_mid, count, out)
        data = encode_publishes(rows, mids, mqtt5=client._protocol == MQTTProtocolVersion.MQTTv5)
        if data is None:
            return None
        client._last_mid = mids[-1]
    now = time.monotonic()
    with client._out_message_mutex:
        for mid, row in zip(mids, rows, strict=True):
            out[mid] = OutboxMessage(mid, row, now)
        client._inflight_messages += count
    _write(client, data, mids[0])
    return mids


def _next_mids(last: int, count: int, taken: Container[int]) -> list[int]:
    """The next `count` packet ids after `last` as paho's `_mid_generate` counts them
    (1..65535, wrapping), passing over any still in use."""
    mids: list[int] = []
    while len(mids) < count:
        last = last + 1 if last < _MIDS else 1
        if last not in taken:
            mids.append(last)
    return mids


def _write(client: paho.Client, data: bytes, mid: int) -> None:
    """Write at once when paho has nothing queued before it (order on the wire is paho's
    queue order); the rest, or all of it, joins paho's write queue as one entry."""
    queue: Any = client._out_packet
    sent = 0
    if not queue:
        try:
            sent = client._sock_send(data)  # registers the writer itself when it would block
        except (OSError, ValueError, AttributeError):
            sent = 0  # paho's writer meets the error again and handles the loss its way
        if sent:
            with client._msgtime_mutex:
                client._last_msg_out = time.monotonic()  # paho's keepalive clock
    if sent < len(data):
        queue.append(
            {
                "command": _PUBLISH | 0x02,
                "mid": mid,
                "qos": 1,
                "pos": sent,
                "to_process": len(data) - sent,
                "packet": data,
                "info": None,
            }
        )
        client._call_socket_register_write()


def coalesce(client: paho.Client, mids: Collection[int]) -> int:
    """Merge runs of queued, unwritten QoS 1 PUBLISH packets with these mids into one entry
    each; returns the number of entries saved. Order on the wire is unchanged."""
    queue: Any = client._out_packet
    if len(queue) < 2:
        return 0
    merged: list[Any] = []
    run: Any = None
    saved = 0
    for entry in queue:
        ours = (
            entry["command"] & 0xF0 == _PUBLISH
            and entry["qos"] == 1
            and entry["pos"] == 0
            and entry["mid"] in mids
        )
        if ours and run is not None:
            run["packet"] += entry["packet"]
            run["to_process"] += entry["to_process"]
            saved += 1
            continue
        if ours:
            run = {**entry, "packet": bytearray(entry["packet"])}
            merged.append(run)
        else:
            run = None
            merged.append(entry)
    if saved:
        queue.clear()
        queue.extend(merged)
    return saved


class PubackShortcut:
    """Settles successful PUBACKs of claimed mids; `on_acks(mids)` is told of them.

    `claimed` holds the mids the batch publisher waits for.
    """

    def __init__(
        self,
        client: paho.Client,
        claimed: Container[int],
        on_acks: Callable[[list[int]], None],
    ) -> None:
        self._client = client
        self._claimed = claimed
        self._on_acks = on_acks
        self._v5 = client._protocol == MQTTProtocolVersion.MQTTv5
        self._original: Callable[[Any], MQTTErrorCode] = client._handle_pubackcomp
        self._read_original: Callable[[], MQTTErrorCode] = client._packet_read
        self._loop_read_original: Callable[[int], MQTTErrorCode] = client.loop_read
        client._handle_pubackcomp = self._handle  # type: ignore[method-assign]
        client._packet_read = self._packet_read  # type: ignore[method-assign]
        client.loop_read = self._loop_read  # type: ignore[method-assign]

    def _handle(self, cmd: Any) -> MQTTErrorCode:
        client = self._client
        packet = client._in_packet["packet"]
        if cmd != "PUBACK" or len(packet) < 2:
            return self._original(cmd)
        # MQTT 5 §3.4.2.1: no reason code means Success; codes below 0x80 are successes.
        if self._v5 and len(packet) > 2 and packet[2] >= 0x80:
            return self._original(cmd)
        mid = (packet[0] << 8) | packet[1]
        if mid not in self._claimed:
            return self._original(cmd)
        return self._settle([mid])

    def _loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        """paho's `loop_read`, after a run of successful PUBACKs of claimed mids at the head
        of what was read is settled at once; paho reads on only if something else is left."""
        client = self._client
        sock = client._sock
        if type(sock) is ReadAhead and client._in_packet["command"] == 0:
            if not sock.buffered() and not sock.fill():
                return MQTTErrorCode.MQTT_ERR_SUCCESS  # nothing to read, as paho would find
            mids = sock.take_pubacks(self._claimed, self._v5)
            if mids:
                self._received()
                rc = self._settle(mids)
                if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                    return client._loop_rc_handle(rc)
            if sock.drained():
                return MQTTErrorCode.MQTT_ERR_SUCCESS
        return self._loop_read_original(max_packets)

    def _packet_read(self) -> MQTTErrorCode:
        """paho's packet reader, except for a whole successful PUBACK of a claimed mid
        already read ahead: settled without paho's reader."""
        client = self._client
        sock = client._sock
        if type(sock) is ReadAhead and client._in_packet["command"] == 0:
            mids = sock.take_pubacks(self._claimed, self._v5, limit=1)
            if mids:
                self._received()
                return self._settle(mids)
        return self._read_original()

    def _received(self) -> None:
        client = self._client
        with client._msgtime_mutex:
            client._last_bytes_received = time.monotonic()  # paho's keepalive clock

    def _settle(self, mids: list[int]) -> MQTTErrorCode:
        client = self._client
        settled: list[int] = []
        rc = MQTTErrorCode.MQTT_ERR_SUCCESS
        with client._out_message_mutex:
            out = client._out_messages
            for mid in mids:  # one at a time, as paho settles them
                message = out.pop(mid, None)
                if message is None:  # a duplicate: paho tells nobody either
                    continue
                message.info._set_as_published()
                settled.append(mid)
                client._inflight_messages -= 1
                if len(out) > client._inflight_messages:  # some are queued: they move up
                    rc = client._update_inflight()
                    if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                        break  # paho drops the connection before reading further
        if settled:
            self._on_acks(settled)
        return rc


class ReadAhead:
    """paho's socket, read in large chunks; everything else goes to the socket itself."""

    _CHUNK = 65536

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._buffer = b""
        self._at = 0
        self._held: OSError | None = None
        """An error `fill()` met, raised to paho's next read (paho decides what it means)."""
        self._closed = False
        """`fill()` met the end of the stream: paho's next read gets it."""
        self._inner_pending: Callable[[], int] | None = getattr(sock, "pending", None)

    def recv(self, size: int) -> bytes:
        at, buffer = self._at, self._buffer
        if at >= len(buffer):
            if self._held is not None:
                held, self._held = self._held, None
                raise held
            if self._closed:
                return b""
            data: bytes = self._sock.recv(max(size, self._CHUNK))  # BlockingIOError when dry
            if len(data) <= size:
                return data
            self._buffer, self._at = data, size
            return data[:size]
        end = min(at + size, len(buffer))
        self._at = end
        return buffer[at:end]

    def send(self, buffer: bytes | bytearray) -> int:
        sent: int = self._sock.send(buffer)
        return sent

    def fill(self) -> bool:
        """One `recv()` into the empty buffer; False if the socket had nothing to give."""
        try:
            data: bytes = self._sock.recv(self._CHUNK)
        except (BlockingIOError, ssl.SSLWantReadError):
            return False
        except OSError as exc:
            self._held = exc
            return True
        if data:
            self._buffer, self._at = data, 0
        else:
            self._closed = True
        return True

    def buffered(self) -> int:
        """Bytes read ahead and not handed out yet."""
        return len(self._buffer) - self._at

    def drained(self) -> bool:
        """Nothing read ahead is left for paho: no bytes, no error, no end of stream."""
        return self._at >= len(self._buffer) and self._held is None and not self._closed

    def take_pubacks(self, claimed: Container[int], v5: bool, limit: int = 0) -> list[int]:
        """The mids of the successful PUBACKs of claimed mids at the head of what was read
        ahead (at most `limit`, if given), in order: consumed. The first packet that is
        anything else stops the run and stays for paho.

        `40 02 mid` (MQTT 3.1.1 and 5), or in MQTT 5 `40 03 mid rc` with a success code
        (below 0x80, e.g. 0x10 "no matching subscribers", which Mosquitto sends so).
        """
        buffer, at = self._buffer, self._at
        end = len(buffer)
        mids: list[int] = []
        while end - at >= 4 and buffer[at] == _PUBACK:
            size = buffer[at + 1]
            if size != 2 and not (size == 3 and v5 and end - at >= 5 and buffer[at + 4] < 0x80):
                break
            mid = (buffer[at + 2] << 8) | buffer[at + 3]
            if mid not in claimed:
                break
            mids.append(mid)
            at += 2 + size
            if len(mids) == limit:
                break
        self._at = at
        return mids

    def pending(self) -> int:
        """Bytes read ahead and not handed out yet (plus a TLS socket's own)."""
        inner = self._inner_pending
        return len(self._buffer) - self._at + (inner() if inner is not None else 0)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def read_ahead(client: paho.Client) -> None:
    """Wrap the client's connected socket (once) in a ReadAhead."""
    sock = client._sock
    if sock is not None and not isinstance(sock, ReadAhead):
        client._sock = ReadAhead(sock)
