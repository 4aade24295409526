"""One charger message in, one reply out, without websockets' per-call machinery when nothing
is in the way.

Per message, websockets parses the frame through three nested generators, `recv()` waits
through three coroutines (the connection, its frame assembler, the assembler's queue) and
`send()` writes through an async context manager (`send_context`); on the charging path all
that costs more than the frame work itself. When the connection is in its everyday state --
open, no fragmented message either way, nobody else reading, the write buffer below its
high-water mark -- the same steps are taken here directly: a read made of whole data frames
is split and unmasked in one go (`FastConnection`), a whole frame queued is taken from the
assembler's queue (`recv`), a reply is framed by the Sans-I/O protocol and written to the
transport (`send_text`). In every other case (handshake, control frames, partial or invalid
frames, closing or closed, a fragmented message, a paused writer, a second reader, an error)
websockets' own code runs, so close handling, `ConnectionClosed`, backpressure and the
keepalive's pings stay its own.

This relies on websockets internals (the asyncio `Connection`'s `recv_messages`,
`send_in_progress`, `paused`, `send_data`, `drain`; the `Assembler` and its `SimpleQueue`;
the protocol's parser generators and `StreamReader`) of the release pyproject pins;
`tests/drivers/ocpp/test_ws_fast.py` fails when they change.
"""

from __future__ import annotations

import asyncio
from typing import Any

from websockets.asyncio.connection import Connection
from websockets.asyncio.server import ServerConnection
from websockets.frames import BINARY, TEXT, Frame
from websockets.protocol import OPEN, SERVER, Protocol
from websockets.streams import StreamReader
from websockets.typing import Data

try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - a build without the C extension
    from websockets.utils import apply_mask

__all__ = ["FastConnection", "recv", "send_text", "split_frames", "take_message", "text_frame"]


def take_message(connection: Connection) -> Data | None:
    """The next message if it is one whole frame already queued and no one else is reading;
    None when the connection's own `recv()` must decide (nothing queued, a fragment, invalid
    UTF-8, a read in progress)."""
    assembler = connection.recv_messages
    if assembler.get_in_progress:
        return None
    queue = assembler.frames.queue
    if not queue:
        return None
    frame = queue[0]
    if not frame.fin:
        return None
    if frame.opcode is TEXT:
        try:
            message: Data = str(frame.data, "utf-8")
        except UnicodeDecodeError:
            return None  # recv() fails the connection as it does for any invalid text
    else:
        message = bytes(frame.data)
    queue.popleft()
    assembler.maybe_resume()
    return message


async def recv(connection: Connection) -> Data:
    """`connection.recv()`: the next message as str (text) or bytes (binary)."""
    assembler = connection.recv_messages
    frames = assembler.frames
    if not (
        assembler.get_in_progress
        or assembler.closed
        or frames.queue
        or frames.get_waiter is not None
    ):  # wait, as the assembler's queue does, for the next frame
        waiter: asyncio.Future[None] = frames.loop.create_future()
        frames.get_waiter = waiter
        assembler.get_in_progress = True  # a concurrent recv() raises ConcurrencyError, as usual
        try:
            await waiter
        except EOFError:  # the connection closed: recv() below raises ConnectionClosed
            pass
        finally:
            waiter.cancel()
            frames.get_waiter = None
            assembler.get_in_progress = False
            del waiter  # its error's traceback holds this frame: no cycle through it
    message = take_message(connection)
    if message is not None:
        return message
    return await connection.recv()


_SHORT_TEXT_HEADERS = [bytes((0x81, n)) for n in range(126)]


def text_frame(payload: bytes) -> bytes:
    """`payload` as an unmasked, final text frame without extensions, as a server sends it."""
    length = len(payload)
    if length < 126:
        return _SHORT_TEXT_HEADERS[length] + payload
    if length < 65536:
        return b"\x81\x7e" + length.to_bytes(2, "big") + payload
    return b"\x81\x7f" + length.to_bytes(8, "big") + payload


async def send_text(connection: Connection, text: str) -> None:
    """`connection.send(text)`: one text frame, waiting while the charger's reading lags."""
    protocol = connection.protocol
    transport = connection.transport
    if (
        protocol.state is not OPEN
        or connection.send_in_progress is not None
        or protocol.expect_continuation_frame
        or connection.paused
        or transport.is_closing()
    ):
        await connection.send(text)
        return
    payload = text.encode()
    try:
        if protocol.writes or protocol.extensions or protocol.debug or protocol.side is not SERVER:
            protocol.send_text(payload)
            connection.send_data()
        else:  # what send_text() and send_data() come to: one unmasked final text frame
            transport.write(text_frame(payload))
        if connection.paused or transport.is_closing():
            await connection.drain()  # waits while the charger's reading lags
    except Exception as exc:  # as send_context(): the connection is done for
        connection.set_connection_exc(exc)
    else:
        return
    transport.abort()
    await asyncio.shield(connection.connection_lost_waiter)
    raise connection.close_exc


# -- receiving: whole data frames parsed in one go ------------------------------------------

_FRAME_LOOP = Protocol.parse.__code__
_AT_FRAME_START = StreamReader.at_eof.__code__


class FastConnection(ServerConnection):
    """A server connection that parses a read of whole, unfragmented, masked text or binary
    frames itself; the Sans-I/O protocol's parser takes everything else (control frames,
    fragments, partial frames, oversized or invalid ones, the handshake, closing)."""

    def data_received(self, data: bytes) -> None:
        protocol = self.protocol
        frames = split_frames(protocol, data) if _between_frames(protocol) else None
        if frames is None:
            super().data_received(data)
            return
        # What recv_frame() and process_event() come to for whole data frames of an open
        # connection: no state to change, nothing to answer, each frame to the assembler.
        put = self.recv_messages.put
        for frame in frames:
            put(frame)


def _between_frames(protocol: Protocol) -> bool:
    """The protocol is open and its parser waits for the first byte of a frame, with
    nothing buffered, nothing to write and no fragmented message in progress."""
    if (
        protocol.state is not OPEN
        or protocol.debug
        or protocol.extensions
        or protocol.current_size is not None
        or protocol.writes
        or protocol.reader.buffer
        or protocol.reader.eof
    ):
        return False
    parser: Any = protocol.parser  # a generator: gi_yieldfrom is what it waits in
    frame_loop = parser.gi_yieldfrom  # parse() of ServerProtocol -> of Protocol
    if frame_loop is None or frame_loop.gi_code is not _FRAME_LOOP:
        return False  # the handshake, or discarding after a close
    waiting = frame_loop.gi_yieldfrom
    return waiting is not None and waiting.gi_code is _AT_FRAME_START


def split_frames(protocol: Protocol, data: bytes) -> list[Frame] | None:
    """`data` as the frames the protocol's parser would make of it when it is nothing but
    whole, final, masked text or binary frames within the size limit; else None."""
    max_size = protocol.max_message_size
    if protocol.max_fragment_size is not None:
        max_size = (
            protocol.max_fragment_size
            if max_size is None
            else min(max_size, protocol.max_fragment_size)
        )
    frames = []
    end = len(data)
    at = 0
    while at < end:
        if end - at < 6:
            return None
        head1 = data[at]
        head2 = data[at + 1]
        if head1 == 0x81:  # FIN, no reserved bits, text
            opcode = TEXT
        elif head1 == 0x82:  # FIN, no reserved bits, binary
            opcode = BINARY
        else:
            return None
        if not head2 & 0x80:  # unmasked: the parser's protocol error
            return None
        length = head2 & 0x7F
        at += 2
        if length == 126:
            length = int.from_bytes(data[at : at + 2], "big")
            at += 2
        elif length == 127:
            length = int.from_bytes(data[at : at + 8], "big")
            at += 8
        if max_size is not None and length > max_size:
            return None
        start = at + 4
        if start + length > end:
            return None
        frames.append(Frame(opcode, apply_mask(data[start : start + length], data[at:start])))
        at = start + length
    return frames
