"""Structured logging: JSON lines for machines (journald, files), readable lines on a terminal.

One event name per line (`mqtt_connected`, `charger_booted`); a logger about a device carries
its id (`log.bind(charger_id=...)` or `device_id=...`) so every line of that device names it.
"""

from __future__ import annotations

import logging
import sys
from typing import Literal

import structlog

__all__ = ["configure_logging"]

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
    ]
    renderer: structlog.types.Processor
    if use_json:
        shared += [structlog.processors.dict_tracebacks]
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=_is_tty(out))
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


def _is_tty(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
