"""A second connection with the id of a charger that is connected (docs/ocpp.md "A second
connection with the same id").

Chargers reconnect while their old TCP connection is still half-open (a power blip, a
cellular hand-over), so a newcomer must be able to replace a dead session. But a newcomer
must not be able to take over a live one it has not proven to be: it would get the charger's
commands and could end its transaction. So:
- the charger has credentials (password or client certificate, already checked by the
  server): the newcomer proved who it is; the old connection is closed first, then the new
  session starts (never two sessions for one id);
- no credentials: the old connection is pinged; if it answers within `PROBE_S` the charger
  is alive there and the newcomer is refused (HTTP 409); if not, it is closed and the
  newcomer admitted.
"""

from __future__ import annotations

import asyncio
import contextlib

from websockets.exceptions import ConnectionClosed

from drivers.ocpp.hub import SessionHandle

__all__ = ["PROBE_S", "admit_duplicate", "retire"]

PROBE_S = 2.0
"""How long a connected charger has to answer a ping before a newcomer may replace it (the
newcomer's opening handshake waits this long; chargers allow 10 s or more for it)."""
_CLOSE_S = 2.0


async def admit_duplicate(existing: SessionHandle, *, authenticated: bool) -> bool:
    """Whether the newcomer may proceed; when it may, `existing` is closed on return."""
    if authenticated:
        await retire(existing, "replaced by a new connection")
    elif await _answers_ping(existing):
        return False
    else:
        await retire(existing, "no answer to a ping", dead=True)
    return True


async def _answers_ping(session: SessionHandle) -> bool:
    try:
        pong = await session.ws.ping()
        async with asyncio.timeout(PROBE_S):
            await pong
    except (ConnectionClosed, TimeoutError):
        return False
    return True


async def retire(session: SessionHandle, reason: str, *, dead: bool = False) -> None:
    """Close `session` and wait until it has ended (its queued commands fail as offline)."""
    session.log.info("session_retired", reason=reason)
    try:
        if dead:
            raise TimeoutError
        async with asyncio.timeout(_CLOSE_S):
            await session.ws.close(1000, reason)
    except TimeoutError:
        session.ws.transport.abort()  # a dead peer never completes the closing handshake
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(_CLOSE_S):
            await session.closed.wait()
