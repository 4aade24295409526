"""A firmware update as a charger does it: wait for the retrieve time, download the image
(a real HTTP GET of the location), check it, install, reboot, and boot with the new version
(1.6 §5.19 / §6.x FirmwareStatus, 2.0.1 L01).

Status notifications: Downloading, Downloaded (or DownloadFailed after the retries), 2.x
SignatureVerified when the request was signed, Installing, 2.x InstallRebooting, then after
the reboot Installed. An empty image fails with InstallationFailed. The new version is read
from the image: a first line `version=X` (or `PBFW X`), else the location's file name without
its extension.
"""

from __future__ import annotations

import asyncio
import re
import urllib.request
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from simulators.charger.operations import FollowUp
from simulators.charger.simclock import parse_timestamp
from simulators.charger.station_view import Station
from simulators.charger.txqueue import QueuedMessage

__all__ = ["FirmwareJob", "image_version", "start_update"]

MAX_IMAGE_BYTES = 256 * 1024 * 1024
_VERSION = re.compile(rb"^(?:version=|PBFW )([A-Za-z0-9._+-]{1,50})")


def image_version(image: bytes, location: str) -> str:
    match = _VERSION.match(image[:128])
    if match is not None:
        return match.group(1).decode()
    return PurePosixPath(urlsplit(location).path).stem or "unknown"


def _download(location: str, timeout_s: float) -> bytes:
    if urlsplit(location).scheme not in ("http", "https"):
        raise OSError(f"cannot download {urlsplit(location).scheme!r} locations")
    with urllib.request.urlopen(location, timeout=timeout_s) as response:
        data: bytes = response.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:
        raise OSError("image too large")
    return data


@dataclass
class FirmwareJob:
    location: str
    request_id: int | None
    """None: a plain 1.6 UpdateFirmware (its notifications carry no request id)."""
    retrieve_at: float | None
    retries: int
    retry_interval_s: float
    signed: bool


def _status_message(station: Station, job: FirmwareJob, status: str) -> QueuedMessage:
    v16 = station.config.ocpp_version.value == "1.6"
    payload: dict[str, Any] = {"status": status}
    action = "FirmwareStatusNotification"
    if job.request_id is not None:
        payload["requestId"] = job.request_id
        if v16:
            action = "SignedFirmwareStatusNotification"
    station.activity["firmware"] = (action, payload)
    return QueuedMessage(action, lambda: payload, transactional=True)


def start_update(station: Station, raw: dict[str, Any], *, signed_request: bool) -> FollowUp:
    """The follow-up that runs the update (after the request was answered)."""
    firmware = raw.get("firmware") if isinstance(raw.get("firmware"), dict) else None
    location = str((firmware or raw).get("location", ""))
    retrieve = (firmware or {}).get("retrieveDateTime") or raw.get("retrieveDate")
    try:
        retrieve_at = parse_timestamp(str(retrieve)) if retrieve else None
    except ValueError:
        retrieve_at = None
    job = FirmwareJob(
        location,
        int(raw["requestId"]) if "requestId" in raw else None,
        retrieve_at,
        int(raw.get("retries", 1)),
        float(raw.get("retryInterval", 5)),
        signed_request and bool((firmware or {}).get("signature")),
    )

    async def run() -> None:
        await _run(station, job)

    return run


async def _run(station: Station, job: FirmwareJob) -> None:
    report = station.queue.put
    if job.retrieve_at is not None:
        wait_s = job.retrieve_at - station.clock.now()
        if wait_s > 0:
            await station.clock.sleep(wait_s)
    image: bytes | None = None
    for attempt in range(max(1, job.retries + 1)):
        report(_status_message(station, job, "Downloading"))
        try:
            image = await asyncio.to_thread(_download, job.location, 30.0)
            break
        except OSError as exc:
            station.log.warning("firmware_download_failed", attempt=attempt + 1, error=str(exc))
            if attempt < job.retries:
                await station.clock.sleep(job.retry_interval_s)
    if image is None:
        report(_status_message(station, job, "DownloadFailed"))
        return
    report(_status_message(station, job, "Downloaded"))
    v2 = station.config.ocpp_version.value != "1.6"
    if job.signed:
        report(_status_message(station, job, "SignatureVerified"))
    report(_status_message(station, job, "Installing"))
    if not image:
        report(_status_message(station, job, "InstallationFailed"))
        return
    version = image_version(image, job.location)
    if v2:
        report(_status_message(station, job, "InstallRebooting"))
    await station.flush()
    station.log.info("firmware_installed", version=version, size=len(image))
    station.firmware_version = version
    station.after_boot.append(_status_message(station, job, "Installed"))
    await station.ops.reboot(hard=False, boot_reason="FirmwareUpdate")
