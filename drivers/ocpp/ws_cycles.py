"""What a charger connection holds: freed at once when closed, no handshake kept while open.

A websockets server connection keeps itself in reference cycles: its Sans-I/O protocol holds
a parser generator suspended on `self` (forever, once the connection is closed), the error
that ended the parser with its traceback, and the `select_subprotocol` closure that reaches
back to the connection; asyncio's socket transport keeps a bound method of itself (the read
callback) with its socket and write buffer. A connection that lived long sits in the oldest generation, so after
a reconnect storm thousands of dead connections (~14 KB each with their handshake headers and
buffers) wait for a full collection, which at 5,000 chargers stalls the event loop for about
a second and which the gateway's GC thresholds make rare. Once the connection is lost
nothing steps the protocol again (`receive_eof` is idempotent), so the cycles can be cut
then and reference counting frees the connection as soon as its session lets go of it.

While open, a connection keeps its opening handshake: the request's and the response's
headers, ~20 lists and dicts per charger that every full collection walks (~100,000 objects
at 5,000 chargers) and a few KB of strings. Nothing reads them after the handshake.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers

__all__ = ["drop_handshake_headers", "free_when_lost"]


def drop_handshake_headers(connection: ServerConnection) -> None:
    """Once the connection is open: the request keeps its path, the response is let go."""
    if connection.request is not None:
        connection.request.headers = Headers()
    connection.response = None


def free_when_lost(connection: ServerConnection) -> None:
    """Cut the connection's reference cycles once its TCP connection is gone."""
    waiter: asyncio.Future[None] | None = getattr(connection, "connection_lost_waiter", None)
    if waiter is not None:
        waiter.add_done_callback(lambda _: cut_cycles(connection))


def cut_cycles(connection: ServerConnection) -> None:
    """The protocol's parser, its last error, the subprotocol closure and the closed
    transport's read callback let go."""
    protocol: Any = connection.protocol
    vars(protocol).pop("select_subprotocol", None)  # the class's method again
    parser = getattr(protocol, "parser", None)
    if parser is not None:
        with contextlib.suppress(ValueError):  # only while running, which it is not here
            parser.close()
    protocol.parser_exc = None
    transport: Any = connection.transport
    if transport.is_closing() and getattr(transport, "_read_ready_cb", None) is not None:
        transport._read_ready_cb = None  # the loop no longer reads a closed transport
