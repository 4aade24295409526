"""Uploading a log file as a charger does it: a real HTTP PUT of the file to the location the
central system gave (the file name appended to a location that ends in `/`), with status
notifications (1.6 §5.7 GetDiagnostics + DiagnosticsStatusNotification, security whitepaper
and 2.0.1 N01 GetLog + LogStatusNotification). The log is this charger's real record of the
OCPP calls it sent and received. FTP locations fail (UploadFailed / UploadFailure): the
simulator, like the gateway, speaks HTTP.
"""

from __future__ import annotations

import asyncio
import time
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from simulators.charger.operations import FollowUp
from simulators.charger.simclock import TimestampStyle, format_timestamp
from simulators.charger.station_view import Station
from simulators.charger.txqueue import QueuedMessage

__all__ = ["get_log", "log_file_name", "log_text", "start_upload"]


def log_file_name(station: Station, kind: str) -> str:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(station.clock.now()))
    return f"{station.config.charger_id}-{kind}-{stamp}.log".replace("/", "_").replace(" ", "_")


def log_text(station: Station, kind: str) -> bytes:
    lines = [f"# {station.config.charger_id} {kind} log, firmware {station.firmware_version}"]
    for call in station.sent:
        lines.append(f"{format_timestamp(call.at, TimestampStyle.UTC)} sent {call.action}")
    for received in station.received:
        lines.append(
            f"{format_timestamp(received.at, TimestampStyle.UTC)} received {received.action}"
        )
    return ("\n".join(lines) + "\n").encode()


def _put(url: str, body: bytes, timeout_s: float) -> int:
    if urlsplit(url).scheme not in ("http", "https"):
        raise OSError(f"cannot upload to {urlsplit(url).scheme!r} locations")
    request = urllib.request.Request(url, data=body, method="PUT")
    request.add_header("Content-Type", "text/plain")
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        return int(response.status)


def start_upload(
    station: Station, location: str, file_name: str, kind: str, request_id: int | None
) -> FollowUp:
    v16_diagnostics = request_id is None

    def status(value: str) -> QueuedMessage:
        if v16_diagnostics:
            payload: dict[str, Any] = {"status": value}
            station.activity["diagnostics"] = ("DiagnosticsStatusNotification", payload)
            return QueuedMessage("DiagnosticsStatusNotification", lambda: payload)
        payload = {"status": value, "requestId": request_id}
        station.activity["log"] = ("LogStatusNotification", payload)
        return QueuedMessage("LogStatusNotification", lambda: payload)

    async def run() -> None:
        station.queue.put(status("Uploading"))
        url = location + file_name if location.endswith("/") else location
        try:
            await asyncio.to_thread(_put, url, log_text(station, kind), 30.0)
        except OSError as exc:
            station.log.warning("log_upload_failed", error=str(exc))
            station.queue.put(status("UploadFailed" if v16_diagnostics else "UploadFailure"))
            return
        station.log.info("log_uploaded", file=file_name)
        station.queue.put(status("Uploaded"))

    return run


def get_log(station: Station, raw: dict[str, Any]) -> tuple[str, FollowUp]:
    """A GetLog request (1.6 security whitepaper, 2.x N01): the file name and the upload."""
    kind = "security" if raw.get("logType") == "SecurityLog" else "diagnostics"
    name = log_file_name(station, kind)
    location = str((raw.get("log") or {}).get("remoteLocation"))
    return name, start_upload(station, location, name, kind, int(raw.get("requestId", 0)))
