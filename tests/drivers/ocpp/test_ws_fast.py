"""The session's websockets short cuts (drivers/ocpp/ws_fast.py) do what the connection's own
`recv()` and `send()` do, over real loopback connections.

A property drives the same generated conversation (texts of every size, binary frames,
fragmented messages, bursts past the receive queue, pings, invalid UTF-8, a close or a dropped
TCP connection) once through the reference and once through the short cuts: the server must
see the same messages and the same end, the peer the same replies and the same close. A
second property feeds the same bytes (every kind of client frame, cut anywhere) to a
connection reading with websockets' parser and to one splitting frames itself: each read must
leave both in the same state. Then what the short cuts must keep: a peer that stops reading blocks the sender with the write
buffer bounded, a close during a blocked send raises ConnectionClosed, concurrent senders keep
their order, a cancelled receive loses nothing. Last, the websockets internals they rely on
are pinned: a websockets release that changes them fails here.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import itertools
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import websockets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio import connection as ws_connection
from websockets.asyncio import messages as ws_messages
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConcurrencyError, ConnectionClosed
from websockets.frames import BINARY, TEXT, Close, Frame
from websockets.protocol import Protocol
from websockets.server import ServerProtocol
from websockets.streams import StreamReader

from drivers.ocpp import ws_fast
from drivers.ocpp.server import MAX_QUEUE, WRITE_LIMIT

Recv = Callable[[ServerConnection], Awaitable[str | bytes]]
Send = Callable[[ServerConnection, str], Coroutine[Any, Any, None]]


async def ref_recv(ws: ServerConnection) -> str | bytes:
    return await ws.recv()


async def ref_send(ws: ServerConnection, text: str) -> None:
    await ws.send(text)


PATHS: dict[str, tuple[Recv, Send]] = {
    "reference": (ref_recv, ref_send),
    "short cuts": (ws_fast.recv, ws_fast.send_text),
}


def closed(exc: ConnectionClosed) -> tuple[Any, ...]:
    def close(c: Close | None) -> tuple[int, str] | None:
        return None if c is None else (c.code, c.reason)

    return ("closed", type(exc).__name__, close(exc.rcvd), close(exc.sent))


def reply_to(message: str | bytes) -> str:
    """What the server answers: sized after the message, so large frames go both ways."""
    return f"{type(message).__name__}:{len(message)}:" + ("r" * (len(message) % 70_000))


@asynccontextmanager
async def server(
    handler: Callable[[ServerConnection], Awaitable[None]],
    connection: type[ServerConnection] = ws_fast.FastConnection,
) -> AsyncIterator[str]:
    """The OCPP endpoint's websockets settings, on loopback; yields the URL."""
    async with serve(
        handler,
        "127.0.0.1",
        0,
        create_connection=connection,
        max_queue=MAX_QUEUE,
        write_limit=WRITE_LIMIT,
        compression=None,
        ping_interval=None,
    ) as srv:
        port = srv.sockets[0].getsockname()[1]
        yield f"ws://127.0.0.1:{port}/cp"


# -- the same conversation through both paths -------------------------------------------------

texts = st.text(max_size=300) | st.text(min_size=126, max_size=2000)
Action = tuple[Any, ...]
actions: st.SearchStrategy[Action] = st.one_of(
    st.tuples(st.just("text"), texts),
    st.tuples(st.just("large"), st.integers(65_530, 140_000)),
    st.tuples(st.just("binary"), st.binary(max_size=300)),
    st.tuples(st.just("fragments"), st.lists(st.text(max_size=50), min_size=1, max_size=5)),
    st.tuples(st.just("burst"), st.lists(texts, min_size=2, max_size=3 * MAX_QUEUE)),
    st.tuples(st.just("ping")),
)
endings: st.SearchStrategy[Action] = st.one_of(
    st.tuples(st.just("close"), st.sampled_from([1000, 1001, 4000])),
    st.tuples(st.just("bad_utf8")),
    st.tuples(st.just("drop")),
)


@dataclass
class Conversation:
    server: list[Any] = field(default_factory=list)
    peer: list[Any] = field(default_factory=list)


async def serve_messages(ws: ServerConnection, path: str, log: list[Any]) -> None:
    recv, send = PATHS[path]
    try:
        while True:
            message = await recv(ws)
            log.append(("message", type(message).__name__, message))
            await send(ws, reply_to(message))
    except ConnectionClosed as exc:
        log.append(closed(exc))


async def peer_script(ws: ClientConnection, script: list[Action], log: list[Any]) -> None:
    for action in script:
        kind = action[0]
        if kind == "burst":
            for text in action[1]:
                await ws.send(text)
            for _ in action[1]:
                log.append(await ws.recv())
        elif kind == "ping":
            log.append(("pong", await asyncio.wait_for(await ws.ping(b"p"), 5) >= 0))
        elif kind == "close":
            await ws.close(action[1], "bye")
        elif kind == "bad_utf8":
            ws.protocol.send_text(b"\xff\xfe not utf-8")
            ws.send_data()
            await ws.wait_closed()
        elif kind == "drop":
            ws.transport.abort()
            await ws.wait_closed()
        else:
            if kind == "large":
                await ws.send("x" * action[1])
            elif kind == "fragments":
                await ws.send(action[1])  # one message in several frames
            else:
                await ws.send(action[1])
            log.append(await ws.recv())
    if ws.close_code is not None and script[-1][0] != "drop":
        log.append(("peer_close", ws.close_code, ws.close_reason))


async def converse(path: str, script: list[Action]) -> Conversation:
    talk = Conversation()
    done = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        try:
            await serve_messages(ws, path, talk.server)
        finally:
            done.set()

    connection = ServerConnection if path == "reference" else ws_fast.FastConnection
    async with server(handler, connection) as url:
        async with connect(url, compression=None, ping_interval=None, max_size=None) as ws:
            await peer_script(ws, script, talk.peer)
        async with asyncio.timeout(10):
            await done.wait()
    return talk


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=st.lists(actions, max_size=8), ending=endings)
def test_the_short_cuts_converse_exactly_as_the_connection_does(
    script: list[Action], ending: Action
) -> None:
    script = [*script, ending]
    reference = asyncio.run(converse("reference", script))
    short_cuts = asyncio.run(converse("short cuts", script))
    assert short_cuts == reference
    assert reference.server[-1][0] == "closed"


# -- the same bytes through both parsers ----------------------------------------------------

MAX_SIZE = 70_000
"""The test servers' frame limit: above 65,535 (the 8-byte length form) and below what the
strategies can send (oversized frames)."""

lengths = st.sampled_from([0, 1, 125, 126, 127, 65_535, 65_536, MAX_SIZE, MAX_SIZE + 1]) | (
    st.integers(0, 400)
)


@st.composite
def wire_frames(draw: st.DrawFn) -> bytes:
    """One client frame as bytes: mostly what chargers send, and every way off that path."""
    everyday = st.sampled_from(["text", "text", "binary", "bad_utf8"])
    other = st.sampled_from(
        [
            *("first", "cont", "last", "ping", "pong"),
            *("close", "rsv", "opcode", "unmasked", "control_long"),
        ]
    )
    kind = draw(everyday if draw(st.integers(0, 9)) < 7 else other)
    if kind == "close":
        payload = (1000).to_bytes(2, "big") + draw(st.text(max_size=20)).encode()
    elif kind in ("ping", "pong"):
        payload = draw(st.binary(max_size=125))
    elif kind == "control_long":
        payload = b"p" * 126
    elif kind == "text":
        payload = draw(st.text(max_size=200)).encode()
        payload = payload if len(payload) > 50 else payload + b"x" * draw(lengths)
    else:
        payload = draw(st.binary(max_size=50)) + b"y" * draw(lengths)
    opcode = {"binary": 2, "cont": 0, "last": 0, "ping": 9, "pong": 10, "close": 8,
              "control_long": 9, "opcode": 3}.get(kind, 1)  # fmt: skip
    fin = 0 if kind in ("first", "cont") else 0x80
    rsv = draw(st.sampled_from([0x40, 0x20, 0x10])) if kind == "rsv" else 0
    masked = kind != "unmasked"
    length = len(payload)
    head = bytes([fin | rsv | opcode])
    mask_bit = 0x80 if masked else 0
    if length < 126:
        head += bytes([mask_bit | length])
    elif length < 65_536:
        head += bytes([mask_bit | 126]) + length.to_bytes(2, "big")
    else:
        head += bytes([mask_bit | 127]) + length.to_bytes(8, "big")
    if not masked:
        return head + payload
    mask = draw(st.binary(min_size=4, max_size=4))
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points) if b > a]


def parsed_state(ws: ServerConnection, written: list[bytes]) -> tuple[Any, ...]:
    """What the parser leaves behind: queued frames, protocol state, error, bytes to send."""
    p = ws.protocol
    queued = [(f.opcode, f.data, type(f.data), f.fin) for f in ws.recv_messages.frames.queue]
    error = None if p.parser_exc is None else (type(p.parser_exc), str(p.parser_exc))
    closes = (p.close_rcvd, p.close_sent, p.close_rcvd_then_sent)
    return (
        queued,
        p.state,
        error,
        closes,
        p.current_size,
        bytes(p.reader.buffer),
        b"".join(written),
    )


async def parse_chunks(connection: type[ServerConnection], chunks: list[bytes]) -> list[Any]:
    """Feeds the chunks to a real server connection of the given class as reads; its state
    after each one."""
    ready: asyncio.Future[ServerConnection] = asyncio.get_running_loop().create_future()
    release = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        ready.set_result(ws)
        await release.wait()

    async with serve(
        handler, "127.0.0.1", 0, create_connection=connection, max_size=MAX_SIZE,
        max_queue=None, compression=None, ping_interval=None,
    ) as srv:  # fmt: skip
        url = f"ws://127.0.0.1:{srv.sockets[0].getsockname()[1]}/cp"
        async with connect(url, compression=None, ping_interval=None):
            ws = await ready
            written: list[bytes] = []
            to_send = ws.protocol.data_to_send

            def recording() -> list[bytes]:
                writes = to_send()
                written.extend(writes)
                return writes

            ws.protocol.data_to_send = recording  # type: ignore[method-assign]
            states = []
            for chunk in chunks:
                ws.data_received(chunk)
                states.append(parsed_state(ws, written))
            ws.transport.abort()
            release.set()
    return states


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    frames=st.lists(wire_frames(), min_size=1, max_size=6),
    cuts=st.lists(st.integers(0, 10**6), max_size=3),
)
def test_fast_parsing_leaves_the_connection_as_the_protocol_parser_does(
    frames: list[bytes], cuts: list[int]
) -> None:
    chunks = split(b"".join(frames), cuts)
    reference = asyncio.run(parse_chunks(ServerConnection, chunks))
    fast = asyncio.run(parse_chunks(ws_fast.FastConnection, chunks))
    assert fast == reference


def test_whole_data_frames_are_split_by_the_fast_parser() -> None:
    """The everyday read -- one or more whole text or binary frames -- takes the fast path."""
    protocol = ServerProtocol(max_size=MAX_SIZE)
    data = b"".join(
        Frame(opcode, payload).serialize(mask=True)
        for opcode, payload in [(TEXT, b'[2,"a"]'), (BINARY, b"b" * 300), (TEXT, b"c" * 66_000)]
    )
    frames = ws_fast.split_frames(protocol, data)
    assert frames is not None
    assert [(f.opcode, f.data) for f in frames] == [
        (TEXT, b'[2,"a"]'), (BINARY, b"b" * 300), (TEXT, b"c" * 66_000)
    ]  # fmt: skip
    assert ws_fast.split_frames(protocol, data[:-1]) is None  # the last one is not whole


@given(
    text=st.text(max_size=200),
    padding=st.sampled_from([0, 1, 124, 125, 126, 65_534, 65_535, 65_536, 70_000]),
)
def test_a_reply_is_framed_as_the_protocol_frames_it(text: str, padding: int) -> None:
    payload = text.encode() + b"p" * padding
    assert ws_fast.text_frame(payload) == Frame(TEXT, payload).serialize(mask=False)


async def test_the_everyday_exchange_takes_the_short_cuts() -> None:
    """A charger's message in and the reply out never reach websockets' own parser, recv()
    or send() (the figures in bench/ws_io.py depend on it)."""
    async with one_connection() as (ws, peer):
        assert isinstance(ws, ws_fast.FastConnection)

        def not_taken(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError("the short cut was not taken")

        ws.protocol.receive_data = not_taken  # type: ignore[method-assign]
        ws.recv = not_taken  # type: ignore[method-assign]
        ws.send = not_taken  # type: ignore[method-assign]
        for n in range(5):
            await peer.send(f'[2,"{n}","Heartbeat",{{}}]')
            message = await ws_fast.recv(ws)
            await ws_fast.send_text(ws, f'[3,"{n}",{{}}]')
            assert message == f'[2,"{n}","Heartbeat",{{}}]'
            assert await peer.recv() == f'[3,"{n}",{{}}]'


# -- what the short cuts must keep -----------------------------------------------------------


@asynccontextmanager
async def one_connection(
    *, rcvbuf: int | None = None
) -> AsyncIterator[tuple[ServerConnection, ClientConnection]]:
    """A server connection and its peer; `rcvbuf` shrinks the peer's receive buffer."""
    ready: asyncio.Future[ServerConnection] = asyncio.get_running_loop().create_future()
    release = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        ready.set_result(ws)
        await release.wait()

    async with server(handler) as url:
        sock = None
        if rcvbuf is not None:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            sock.connect(("127.0.0.1", int(url.split(":")[2].split("/")[0])))
        async with connect(
            url, sock=sock, compression=None, ping_interval=None, close_timeout=1
        ) as peer:
            ws = await ready
            try:
                yield ws, peer
            finally:
                release.set()


async def fill_until_blocked(ws: ServerConnection, send: Send, text: str) -> asyncio.Task[None]:
    """Sends `text` until a send blocks (the peer reads nothing); returns the blocked send."""
    ws.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    for _ in range(10_000):
        task = asyncio.create_task(send(ws, text))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        if not task.done():
            return task
        task.result()
    raise AssertionError("sending never blocked")


@pytest.mark.parametrize("path", PATHS)
async def test_a_peer_that_stops_reading_blocks_the_sender_with_bounded_memory(path: str) -> None:
    _, send = PATHS[path]
    text = "m" * 1000
    async with one_connection(rcvbuf=4096) as (ws, peer):
        blocked = await fill_until_blocked(ws, send, text)
        assert ws.paused
        # Above the high-water mark by at most the frame that crossed it.
        assert ws.transport.get_write_buffer_size() <= WRITE_LIMIT + len(text) + 14
        await asyncio.sleep(0.1)
        assert not blocked.done()
        received = 0
        async with asyncio.timeout(10):
            while not blocked.done():
                await peer.recv()
                received += 1
        await blocked
        assert received > 0


async def outcome(send: Awaitable[None]) -> str:
    try:
        await send
    except ConnectionClosed as exc:
        return type(exc).__name__
    return "sent"


CLOSE_DURING_SEND = {
    # how the connection ends -> (the blocked send, a send after it), as websockets has them
    "peer_drops": ("ConnectionClosedError", "ConnectionClosedError"),
    "server_aborts": ("sent", "ConnectionClosedError"),
    "server_closes": ("sent", "ConnectionClosedOK"),
}


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("how", CLOSE_DURING_SEND)
async def test_a_close_during_a_blocked_send(path: str, how: str) -> None:
    _, send = PATHS[path]
    async with one_connection(rcvbuf=4096) as (ws, peer):
        blocked = await fill_until_blocked(ws, send, "m" * 1000)
        if how == "peer_drops":
            peer.transport.abort()
        elif how == "server_aborts":
            ws.transport.abort()  # as a takeover does with a dead charger
        else:
            closing = asyncio.create_task(ws.close(1001, "going away"))
            await asyncio.sleep(0.05)
            with pytest.raises(ConnectionClosed):
                while True:  # the peer reads again: the backlog, then the close frame
                    await peer.recv()
            await closing
        async with asyncio.timeout(10):
            assert (await outcome(blocked), await outcome(send(ws, "after"))) == (
                CLOSE_DURING_SEND[how]
            )


@pytest.mark.parametrize("path", PATHS)
async def test_concurrent_senders_keep_their_order_through_backpressure(path: str) -> None:
    """The session's reply and its command worker send concurrently; each in call order."""
    _, send = PATHS[path]
    async with one_connection(rcvbuf=4096) as (ws, peer):
        blocked = await fill_until_blocked(ws, send, "f" * 1000)

        async def sender(name: str) -> None:
            for n in range(20):
                await send(ws, f"{name}{n}")

        senders = [asyncio.create_task(sender(name)) for name in ("reply", "command")]
        got: list[str] = []
        async with asyncio.timeout(10):
            while len(got) < 40:
                message = str(await peer.recv())
                if not message.startswith("f"):
                    got.append(message)
        await asyncio.gather(blocked, *senders)
        for name in ("reply", "command"):
            assert [m for m in got if m.startswith(name)] == [f"{name}{n}" for n in range(20)]


async def test_a_cancelled_receive_loses_nothing_and_a_second_reader_is_refused() -> None:
    async with one_connection() as (ws, peer):
        waiting = asyncio.create_task(ws_fast.recv(ws))
        await asyncio.sleep(0.01)
        with pytest.raises(ConcurrencyError):
            await ws_fast.recv(ws)
        with pytest.raises(ConcurrencyError):
            await ws.recv()
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await peer.send("one")
        await peer.send(b"two")
        await asyncio.sleep(0.05)  # both queued: the second is taken without waiting
        assert await ws_fast.recv(ws) == "one"
        assert await ws_fast.recv(ws) == b"two"
        await peer.send("three")
        assert await ws.recv() == "three"  # the connection's own recv() still works after


async def test_keepalive_pings_are_answered_while_the_short_cuts_serve() -> None:
    done = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        await serve_messages(ws, "short cuts", [])
        done.set()

    async with serve(
        handler,
        "127.0.0.1",
        0,
        create_connection=ws_fast.FastConnection,
        ping_interval=0.05,
        ping_timeout=1,
    ) as srv:
        url = f"ws://127.0.0.1:{srv.sockets[0].getsockname()[1]}/cp"
        async with connect(url, ping_interval=0.05, ping_timeout=1) as peer:
            for n in range(10):
                await peer.send(f"m{n}")
                assert str(await peer.recv()).startswith("str:")
                await asyncio.sleep(0.03)
            assert peer.latency > 0  # the server answered the peer's pings
            assert peer.state.name == "OPEN"


# -- the websockets internals relied on --------------------------------------------------------

MIRRORED = {
    # What ws_fast takes the place of, or reads the state of; a change to any of them
    # means reading ws_fast.py again against the new source.
    "Connection.recv": ws_connection.Connection.recv,
    "Connection.send": ws_connection.Connection.send,
    "Connection.send_context": ws_connection.Connection.send_context,
    "Connection.send_data": ws_connection.Connection.send_data,
    "Connection.drain": ws_connection.Connection.drain,
    "Connection.pause_writing": ws_connection.Connection.pause_writing,
    "Connection.connection_lost": ws_connection.Connection.connection_lost,
    "Assembler.get": ws_messages.Assembler.get,
    "Assembler.put": ws_messages.Assembler.put,
    "Assembler.maybe_resume": ws_messages.Assembler.maybe_resume,
    "Assembler.close": ws_messages.Assembler.close,
    "SimpleQueue.get": ws_messages.SimpleQueue.get,
    "SimpleQueue.put": ws_messages.SimpleQueue.put,
    "SimpleQueue.abort": ws_messages.SimpleQueue.abort,
    "Connection.data_received": ws_connection.Connection.data_received,
    "Connection.process_event": ws_connection.Connection.process_event,
    "ServerConnection.process_event": ServerConnection.process_event,
    "ServerProtocol.parse": ServerProtocol.parse,
    "Protocol.parse": Protocol.parse,
    "Protocol.recv_frame": Protocol.recv_frame,
    "StreamReader.at_eof": StreamReader.at_eof,
    "Frame.parse": Frame.parse,
    "Frame.check": Frame.check,
}
"""name -> the function; PINNED below holds their source digests for the pinned release."""

PINNED_VERSION = "17.4"
PINNED = {
    "Connection.recv": "23199c9dbd0da81c",
    "Connection.send": "5617d820f825734f",
    "Connection.send_context": "3dbc998ac51e6845",
    "Connection.send_data": "b01f84358ffee740",
    "Connection.drain": "42a1ae01f9bf2907",
    "Connection.pause_writing": "2be970c6448a731b",
    "Connection.connection_lost": "ed34a9b75ab37cf2",
    "Assembler.get": "2db634a947dcad5f",
    "Assembler.put": "0d37a23122341324",
    "Assembler.maybe_resume": "ea1fd7a305dd127a",
    "Assembler.close": "e8a8136413b82373",
    "SimpleQueue.get": "6603528ea8fe7933",
    "SimpleQueue.put": "80349d4a77a414be",
    "SimpleQueue.abort": "a3963a1dd3f8bc64",
    "Connection.data_received": "19c5a13dd8eb56f7",
    "Connection.process_event": "90e3399e37c0852f",
    "ServerConnection.process_event": "2d27302ec72ea200",
    "ServerProtocol.parse": "8c4d10340de4d32f",
    "Protocol.parse": "45aaf900644b63c4",
    "Protocol.recv_frame": "4f83d3b90ea62428",
    "StreamReader.at_eof": "106a9f1e43abf91f",
    "Frame.parse": "2964f6b18f3ae45d",
    "Frame.check": "31a8800e3cfeb00f",
}


def digest(function: Any) -> str:
    function = getattr(function, "__wrapped__", function)
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()[:16]


def test_the_websockets_internals_relied_on_are_those_of_the_pinned_release() -> None:
    changed = {name for name, fn in MIRRORED.items() if digest(fn) != PINNED[name]}
    assert not changed, (
        f"websockets {websockets.version.version} changed {sorted(changed)} since "
        f"{PINNED_VERSION}: check drivers/ocpp/ws_fast.py against the new source, then "
        "update PINNED_VERSION, PINNED and pyproject's pin"
    )
