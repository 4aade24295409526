"""Log lines are bounded: no whole payloads, tracebacks without local variables."""

from __future__ import annotations

import io
import json

import structlog

from gateway.foundation.logs import configure_logging


def _fail_with_a_secret_in_scope() -> None:
    password = "hunter" + str(2) + "-very-secret"  # a local a traceback with locals would show
    payload = "P" * 1_000_000
    raise RuntimeError(f"failed on a payload of {len(payload)} bytes ({len(password)})")


def test_exception_logs_carry_no_locals_and_long_fields_are_cut() -> None:
    out = io.StringIO()
    configure_logging("info", "json", stream=out)
    try:
        log = structlog.get_logger("test")
        try:
            _fail_with_a_secret_in_scope()
        except RuntimeError:
            log.exception("handler_failed", payload="x" * 100_000)
    finally:
        structlog.reset_defaults()
    line = out.getvalue().strip().splitlines()[-1]
    assert "hunter2" not in line and "PPPP" not in line
    assert len(line) < 10_000
    entry = json.loads(line)
    assert entry["payload"].endswith("(100000 chars)")
    frames = entry["exception"][0]["frames"]
    assert frames and all("locals" not in f or not f["locals"] for f in frames)


def test_console_tracebacks_carry_no_locals() -> None:
    out = io.StringIO()
    configure_logging("info", "console", stream=out)
    try:
        try:
            _fail_with_a_secret_in_scope()
        except RuntimeError:
            structlog.get_logger("test").exception("handler_failed")
    finally:
        structlog.reset_defaults()
    assert "hunter2" not in out.getvalue()
    assert "RuntimeError" in out.getvalue()
