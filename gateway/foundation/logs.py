"""Structured logging: JSON lines for machines (journald, files), readable lines on a terminal.

One event name per line (`mqtt_connected`, `charger_booted`); a logger about a device carries
its id (`log.bind(charger_id=...)` or `device_id=...`) so every line of that device names it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, Literal

import structlog
import structlog.tracebacks

__all__ = ["bounded", "configure_logging"]

MAX_FIELD_CHARS = 1000
"""Longest string value in a log line; longer ones are cut (a 1 MB payload must not reach
the journal). Tracebacks keep at most MAX_FRAMES frames and never local variables: a frame's
locals can hold a whole payload or a password."""
MAX_FRAMES = 20

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


def configure_logging(
    level: str = "info", fmt: Literal["auto", "json", "console"] = "auto", stream: object = None
) -> None:
    out = stream if stream is not None else sys.stderr
    use_json = fmt == "json" or (fmt == "auto" and not _is_tty(out))
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _bound_fields,
    ]
    renderer: structlog.types.Processor
    if use_json:
        shared += [
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(
                    show_locals=False, max_frames=MAX_FRAMES
                )
            )
        ]
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(
            colors=_is_tty(out),
            exception_formatter=structlog.dev.RichTracebackFormatter(
                show_locals=False, max_frames=MAX_FRAMES
            ),
        )
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level]),
        logger_factory=structlog.PrintLoggerFactory(file=out),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    # Libraries log through stdlib logging: keep their warnings, drop their chatter.
    logging.basicConfig(level=logging.WARNING, stream=out)  # type: ignore[arg-type]
    for noisy in ("websockets", "ocpp", "pymodbus", "aiomqtt"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def bounded(value: Any, limit: int = 200) -> Any:
    """`value` for a log field, cut to `limit` characters when it is long (payloads, ids)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= limit:
        return value
    return f"{text[:limit]}... ({len(text)} chars)"


def _bound_fields(
    _logger: Any, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Cut every long string field, whoever logged it."""
    for key, value in event.items():
        if key == "exception":
            continue
        if (isinstance(value, str) and len(value) > MAX_FIELD_CHARS) or (
            isinstance(value, dict | list | tuple | bytes) and len(value) > 0
        ):
            event[key] = bounded(value, MAX_FIELD_CHARS)
    return event


def _is_tty(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
