"""Sending the device model as NotifyReport parts after an accepted GetBaseReport (B07):
`ItemsPerMessage` items per part, `seqNo` from 0, `tbc` on all but the last."""

from __future__ import annotations

from simulators.charger.operations import FollowUp
from simulators.charger.station_view import Station

__all__ = ["report_followup"]


def report_followup(station: Station, request_id: int) -> FollowUp:
    async def send() -> None:
        link = station.link
        if link is None:
            return
        items = station.settings.report_data()
        size = station.settings.items_per_report()
        chunks = [items[i : i + size] for i in range(0, len(items), size)] or [[]]
        for seq_no, chunk in enumerate(chunks):
            payload = {
                "requestId": request_id,
                "generatedAt": station.timestamp(),
                "seqNo": seq_no,
                "tbc": seq_no < len(chunks) - 1,
                "reportData": chunk,
            }
            if not chunk:
                del payload["reportData"]
            await link.request("NotifyReport", payload)

    return send
