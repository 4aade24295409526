"""Keep a descriptor shortage from flooding the log.

When `accept()` fails with EMFILE/ENFILE/ENOBUFS/ENOMEM, asyncio reports it through the
loop's exception handler with a full traceback -- and retries up to its backlog (100) times
per wake-up, each with another traceback. Under a reconnect storm past the open-file limit
that became hundreds of thousands of lines a minute. This handler turns those reports into
one `accept_failed` line per interval with their count and errno; asyncio's own pause and
retry of the listening socket is unchanged. Every other report goes to the default handler.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from gateway.foundation.throttled_log import ThrottledLog

__all__ = ["install_accept_error_handler"]

_ACCEPT_MESSAGE = "socket.accept() out of system resource"


def install_accept_error_handler(
    loop: asyncio.AbstractEventLoop, *, interval_s: float = 10.0
) -> ThrottledLog:
    """Install on `loop`; returns the throttled log (its `total` counts the failures)."""
    throttled = ThrottledLog(
        structlog.get_logger("gateway"), "accept_failed", interval_s=interval_s, level="error"
    )
    previous = loop.get_exception_handler()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if str(context.get("message", "")).startswith(_ACCEPT_MESSAGE):
            exc = context.get("exception")
            throttled.note(
                error=str(exc) if exc is not None else None,
                errno=getattr(exc, "errno", None),
                hint="too many open files: raise LimitNOFILE or lower ocpp.max_connections",
            )
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)
    return throttled
