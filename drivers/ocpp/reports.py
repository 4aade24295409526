"""Waiting for 2.x reports: a GetBaseReport is answered at once, its data follows in
NotifyReport parts tagged with the request id. One waiter per (charger, request id)."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

from drivers.ocpp.core.report_parts import ReportParts

__all__ = ["ReportWaiters"]


class ReportWaiters:
    def __init__(self) -> None:
        self._waiting: dict[tuple[str, int], tuple[ReportParts, asyncio.Future[list[Any]]]] = {}
        self._ids = itertools.count(int(time.time()) % 1_000_000_000)

    def expect(self, charger_id: str) -> tuple[int, asyncio.Future[list[dict[str, Any]]]]:
        """A new request id and the future its assembled `reportData` will resolve."""
        request_id = next(self._ids)
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._waiting[(charger_id, request_id)] = (ReportParts(), future)
        return request_id, future

    def forget(self, charger_id: str, request_id: int) -> None:
        self._waiting.pop((charger_id, request_id), None)

    def offer(self, charger_id: str, payload: dict[str, Any]) -> bool:
        """File a NotifyReport part; False when nobody waits for its request id."""
        request_id = payload.get("requestId")
        if not isinstance(request_id, int):
            return False
        entry = self._waiting.get((charger_id, request_id))
        if entry is None:
            return False
        parts, future = entry
        if parts.add(payload) and not future.done():
            future.set_result(parts.report_data())
            self.forget(charger_id, request_id)
        return True
