"""Two short cuts through paho's per-message work for the outbox's QoS 1 batches.

paho writes each queued packet with its own `send()` (one system call, and one wake-up of the
broker, per record) and answers each PUBACK by building a `ReasonCode`, a `Properties`, a
log line and two callbacks, then scanning every message in flight for one to send next:
together most of the CPU a record costs on the charging path. Both short cuts leave paho in
charge of the connection and of its own bookkeeping:

- `coalesce()`: the PUBLISH packets of one batch, queued by `Client.publish()` and not yet
  written, become one entry of paho's write queue, so `loop_write()` sends them with one
  system call (and continues a partial write where it stopped, as for any packet);
- `PubackShortcut`: a successful PUBACK for a message the batch publisher is waiting for is
  settled here -- the message leaves paho's `_out_messages`, the in-flight count drops and
  queued messages move up exactly as `_do_on_publish` does -- without the objects and
  callbacks. Every other PUBACK (aiomqtt's own publishes, failure reason codes, malformed
  packets) goes through paho's own handler unchanged;
- `ReadAhead`: paho reads a packet with three `recv()` calls (type byte, length, body);
  wrapped around paho's socket, one `recv()` takes whatever the broker sent (a whole
  batch of PUBACKs) and hands it out in paho's small reads. It reports what it holds
  through `pending()`, the call aiomqtt already makes to drain a TLS socket's buffer, so
  nothing read ahead waits for the next readable event. A whole successful PUBACK of a
  claimed mid found there is settled by `PubackShortcut` without paho's packet reader
  (which allocates a packet record and takes two locks per packet); anything else, or a
  packet split across reads, goes through paho's reader.

Written against paho-mqtt 2.x internals (`_out_packet`, `_out_messages`, `_in_packet`,
`_inflight_messages`, `_handle_pubackcomp`); tests/gateway/test_paho_shortcuts.py pins them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import MQTTErrorCode, MQTTProtocolVersion

__all__ = ["PubackShortcut", "ReadAhead", "coalesce", "read_ahead"]

_PUBLISH = 0x30


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
    """Settles successful PUBACKs of claimed mids; `on_ack(mid)` is told of each.

    `claimed(mid)` says whether the batch publisher waits for that mid.
    """

    def __init__(
        self,
        client: paho.Client,
        claimed: Callable[[int], bool],
        on_ack: Callable[[int], None],
    ) -> None:
        self._client = client
        self._claimed = claimed
        self._on_ack = on_ack
        self._v5 = client._protocol == MQTTProtocolVersion.MQTTv5
        self._original: Callable[[Any], MQTTErrorCode] = client._handle_pubackcomp
        self._read_original: Callable[[], MQTTErrorCode] = client._packet_read
        client._handle_pubackcomp = self._handle  # type: ignore[method-assign]
        client._packet_read = self._packet_read  # type: ignore[method-assign]

    def _handle(self, cmd: Any) -> MQTTErrorCode:
        client = self._client
        packet = client._in_packet["packet"]
        if cmd != "PUBACK" or len(packet) < 2:
            return self._original(cmd)
        # MQTT 5 §3.4.2.1: no reason code means Success; codes below 0x80 are successes.
        if self._v5 and len(packet) > 2 and packet[2] >= 0x80:
            return self._original(cmd)
        mid = (packet[0] << 8) | packet[1]
        if not self._claimed(mid):
            return self._original(cmd)
        return self._settle(mid)

    def _packet_read(self) -> MQTTErrorCode:
        """paho's packet reader, except for a whole successful PUBACK of a claimed mid
        already read ahead: settled without paho's reader."""
        client = self._client
        sock = client._sock
        if type(sock) is ReadAhead and client._in_packet["command"] == 0:
            mid = sock.take_puback(self._claimed, self._v5)
            if mid is not None:
                with client._msgtime_mutex:
                    client._last_bytes_received = time.monotonic()  # paho's keepalive clock
                return self._settle(mid)
        return self._read_original()

    def _settle(self, mid: int) -> MQTTErrorCode:
        client = self._client
        with client._out_message_mutex:
            message = client._out_messages.pop(mid, None)
            if message is None:  # a duplicate: paho tells nobody either
                return MQTTErrorCode.MQTT_ERR_SUCCESS
            message.info._set_as_published()
            client._inflight_messages -= 1
            rc = MQTTErrorCode.MQTT_ERR_SUCCESS
            if len(client._out_messages) > client._inflight_messages:  # some are queued
                rc = client._update_inflight()
        self._on_ack(mid)
        return rc


class ReadAhead:
    """paho's socket, read in large chunks; everything else goes to the socket itself."""

    _CHUNK = 65536

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._buffer = b""
        self._at = 0

    def recv(self, size: int) -> bytes:
        at, buffer = self._at, self._buffer
        if at >= len(buffer):
            data: bytes = self._sock.recv(max(size, self._CHUNK))  # BlockingIOError when dry
            if len(data) <= size:
                return data
            self._buffer, self._at = data, size
            return data[:size]
        end = min(at + size, len(buffer))
        self._at = end
        return buffer[at:end]

    def take_puback(self, claimed: Callable[[int], bool], v5: bool) -> int | None:
        """The mid of a successful PUBACK at the head of what was read ahead, if
        `claimed(mid)`: then it is consumed. Otherwise None (paho reads it).

        `40 02 mid` (MQTT 3.1.1 and 5), or in MQTT 5 `40 03 mid rc` with a success code
        (below 0x80, e.g. 0x10 "no matching subscribers", which Mosquitto sends so).
        """
        buffer, at = self._buffer, self._at
        if len(buffer) - at < 4 or buffer[at] != 0x40:
            return None
        size = buffer[at + 1]
        if size == 3 and v5:
            if len(buffer) - at < 5 or buffer[at + 4] >= 0x80:
                return None
        elif size != 2:
            return None
        mid = (buffer[at + 2] << 8) | buffer[at + 3]
        if not claimed(mid):
            return None
        self._at = at + 2 + size
        return mid

    def pending(self) -> int:
        """Bytes read ahead and not handed out yet (plus a TLS socket's own)."""
        inner = getattr(self._sock, "pending", None)
        return len(self._buffer) - self._at + (inner() if inner is not None else 0)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def read_ahead(client: paho.Client) -> None:
    """Wrap the client's connected socket (once) in a ReadAhead."""
    sock = client._sock
    if sock is not None and not isinstance(sock, ReadAhead):
        client._sock = ReadAhead(sock)
