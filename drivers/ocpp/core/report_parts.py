"""Putting a 2.x report together from its NotifyReport parts (B07/B08: `seqNo` from 0,
`tbc` true on every part but the last). Parts may arrive in any order and twice (a charger
resends a part whose answer it lost); the report is complete when the part without `tbc`
and every part before it are in.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ReportParts"]

_MAX_PARTS = 10_000


class ReportParts:
    def __init__(self) -> None:
        self._parts: dict[int, list[dict[str, Any]]] = {}
        self._last: int | None = None

    def add(self, payload: dict[str, Any]) -> bool:
        """File one NotifyReport payload; True once the report is complete."""
        seq_no = payload.get("seqNo")
        if not isinstance(seq_no, int) or not 0 <= seq_no < _MAX_PARTS:
            return self.complete
        data = payload.get("reportData") or []
        self._parts[seq_no] = [x for x in data if isinstance(x, dict)]
        if not payload.get("tbc", False):
            self._last = seq_no
        return self.complete

    @property
    def complete(self) -> bool:
        return self._last is not None and all(i in self._parts for i in range(self._last + 1))

    @property
    def missing(self) -> list[int]:
        top = self._last if self._last is not None else max(self._parts, default=-1)
        return [i for i in range(top + 1) if i not in self._parts]

    def report_data(self) -> list[dict[str, Any]]:
        """Every part's items, in seqNo order."""
        return [item for i in sorted(self._parts) for item in self._parts[i]]
