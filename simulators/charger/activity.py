"""What a triggered firmware / diagnostics / log status notification says (1.6 §5.17,
2.0.1 F06 / L01 / N01): the status of the update or upload in progress, `Idle` when none is."""

from __future__ import annotations

from typing import Any

from simulators.charger.station_view import Station

__all__ = ["STATUS_TRIGGERS", "activity_status"]

STATUS_TRIGGERS = {
    "FirmwareStatusNotification": "firmware",
    "DiagnosticsStatusNotification": "diagnostics",
    "LogStatusNotification": "log",
}
"""TriggerMessage values -> the activity they report on."""

_OVER = frozenset(
    {"Installed", "DownloadFailed", "InstallationFailed", "InstallVerificationFailed",
     "InvalidSignature", "Uploaded", "UploadFailed", "UploadFailure"}
)  # fmt: skip


_PLAIN_16 = {"SignatureVerified": "Downloaded", "InstallRebooting": "Installing"}


def activity_status(station: Station, message: str) -> tuple[str, dict[str, Any]]:
    last = station.activity.get(STATUS_TRIGGERS[message])
    if last is None or last[1].get("status") in _OVER:
        return message, {"status": "Idle"}
    action, payload = last
    if message == "FirmwareStatusNotification" and action != message:
        # 1.6 asked for the plain message about a signed update: its nearest plain status
        status = _PLAIN_16.get(payload["status"], payload["status"])
        return message, {"status": status}
    return action, dict(payload)
