"""Time-of-use windows from `P/site/cmd/schedule`: stored, and followed with no broker at all.

A window sets an import limit and/or a power target from `start` to `end`; `repeat: daily`
repeats it every 24 h from `start`. When windows overlap the first in the list wins. The
schedule is written to `state_dir/site_schedule.json` (atomically: a crash leaves the old or
the new file, never half of one) and read at start; a damaged file is set aside with a clear
log line and the site runs on its configured limit.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import structlog
from pydantic import TypeAdapter, ValidationError

from gateway.foundation.commands.schemas import ScheduleWindow

__all__ = ["ScheduleStore", "window_at"]

log = structlog.get_logger("gateway.site")

_DAY = timedelta(days=1)
_WINDOWS = TypeAdapter(list[ScheduleWindow])


def window_at(windows: Sequence[ScheduleWindow], now_s: float) -> ScheduleWindow | None:
    """The window in force at wall-clock time `now_s` (epoch seconds), if any."""
    now = datetime.fromtimestamp(now_s, UTC)
    for window in windows:
        if window.repeat == "none":
            if window.start <= now < window.end:
                return window
            continue
        if now < window.start:
            continue
        days = (now - window.start) // _DAY
        start = window.start + days * _DAY
        if start <= now < start + (window.end - window.start):
            return window
    return None


def next_change_s(windows: Sequence[ScheduleWindow], now_s: float) -> float | None:
    """Seconds until a window starts or ends (for the schedule's result and telemetry)."""
    now = datetime.fromtimestamp(now_s, UTC)
    edges: list[datetime] = []
    for w in windows:
        if w.repeat == "none":
            edges += [w.start, w.end]
        else:
            days = max(0, (now - w.start) // _DAY)
            for d in (days, days + 1):
                edges += [w.start + d * _DAY, w.end + d * _DAY]
    ahead = [(e - now).total_seconds() for e in edges if e > now]
    return min(ahead) if ahead else None


class ScheduleStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> list[ScheduleWindow]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            log.error("site_schedule_unreadable", path=str(self.path), error=str(exc))
            return []
        try:
            return _WINDOWS.validate_json(raw)
        except (ValidationError, ValueError) as exc:
            damaged = self.path.with_suffix(".damaged")
            log.error(
                "site_schedule_damaged",
                path=str(self.path),
                moved_to=str(damaged),
                error=str(exc)[:300],
                detail="running without a schedule; send it again",
            )
            os.replace(self.path, damaged)
            return []

    def save(self, windows: Sequence[ScheduleWindow]) -> None:
        """Write-then-rename, fsynced: a power cut leaves the old schedule or the new one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = json.dumps([w.model_dump(mode="json") for w in windows]).encode()
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "wb") as handle:
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)
