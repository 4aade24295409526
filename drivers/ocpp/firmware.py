"""`update_firmware`: the update request, its status notifications, the version check.

1.6 UpdateFirmware (§5.19; SignedUpdateFirmware of the security whitepaper when a signature is
given), 2.x UpdateFirmware (L01, always with a requestId). The request's progress is
`state.firmware_update` {status, request_id, updated_at, location, previous_version}: it
starts `Requested` and follows each FirmwareStatusNotification of that request (1.6 plain
notifications carry no request id: they belong to the latest request). After the charger
boots again its BootNotification firmware version is compared with the one before the update
(`version`, `version_changed`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from drivers.ocpp.calls import call_charger, judge, online_session
from drivers.ocpp.hub import Hub
from drivers.ocpp.session import ChargerSession
from gateway.foundation.clock import format_ts
from gateway.foundation.commands.management import UpdateFirmwareCommand, utc_text
from gateway.foundation.commands.router import CommandRouter
from gateway.foundation.errors import InvalidCommand
from gateway.foundation.model import (
    ChargerEvent,
    ChargerId,
    CommandRequest,
    CommandResult,
    DeviceKind,
)
from gateway.foundation.model.versions import OcppVersion

__all__ = ["FirmwareCommands", "firmware_booted", "firmware_status", "update_payload"]

_SETTLED = frozenset(
    {"Installed", "DownloadFailed", "InstallationFailed", "InstallVerificationFailed",
     "InvalidSignature", "SignatureVerificationFailed", "InvalidCertificate",
     "RevokedCertificate"}
)  # fmt: skip
"""Statuses after which the request is over (the version check still follows a reboot)."""


def update_payload(
    version: OcppVersion, request_id: int, args: UpdateFirmwareCommand, now_s: float
) -> tuple[str, dict[str, Any]]:
    """(action, payload) of the update request for the charger's version."""
    retrieve = utc_text(args.retrieve_at or datetime.fromtimestamp(now_s, UTC))
    retries: dict[str, Any] = {}
    if args.retries is not None:
        retries["retries"] = args.retries
    if args.retry_interval_s is not None:
        retries["retryInterval"] = args.retry_interval_s
    if version == OcppVersion.V16 and args.signature is None:
        if args.signing_certificate is not None or args.install_at is not None:
            raise ValueError(
                "OCPP 1.6 UpdateFirmware takes no signing_certificate or install_at"
                " without a signature (SignedUpdateFirmware)"
            )
        return "UpdateFirmware", {"location": args.location, "retrieveDate": retrieve, **retries}
    firmware: dict[str, Any] = {"location": args.location, "retrieveDateTime": retrieve}
    if args.install_at is not None:
        firmware["installDateTime"] = utc_text(args.install_at)
    if args.signing_certificate is not None:
        firmware["signingCertificate"] = args.signing_certificate
    if args.signature is not None:
        firmware["signature"] = args.signature
    action = "SignedUpdateFirmware" if version == OcppVersion.V16 else "UpdateFirmware"
    if action == "SignedUpdateFirmware" and "signingCertificate" not in firmware:
        raise ValueError("OCPP 1.6 SignedUpdateFirmware needs signing_certificate")
    return action, {"requestId": request_id, "firmware": firmware, **retries}


def without_credentials(url: str) -> str:
    """The URL as shown in state and logs: a user:password part is left out."""
    parts = urlsplit(url)
    if parts.password is None and parts.username is None:
        return url
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


async def firmware_status(s: ChargerSession, p: dict[str, Any]) -> dict[str, Any]:
    """FirmwareStatusNotification / SignedFirmwareStatusNotification: the request's status."""
    book = s.hub.book(s.charger_id)
    update = book.firmware_update
    request_id = p.get("requestId")
    data = dict(p)
    ours = update is not None and request_id in (None, update["request_id"])
    if update is not None and ours and p.get("status") != "Idle":
        book.firmware_update = {**update, "status": p["status"], "updated_at": format_ts(s.now_s())}
        data["request_id"] = update["request_id"]
        s.publish_state()
    s.log.info("firmware_status", status=p.get("status"), request_id=data.get("request_id"))
    s.hub.recorder.record(ChargerEvent(ChargerId(s.charger_id), "firmware_status", data))
    return {}


def firmware_booted(s: ChargerSession) -> None:
    """At BootNotification: after an update, say which version the charger came back with."""
    book = s.hub.book(s.charger_id)
    update = book.firmware_update
    if update is None or update["status"] in ("Requested", "DownloadFailed", "Downloading"):
        return
    version = book.firmware
    book.firmware_update = {
        **update,
        "version": version,
        "version_changed": version != update.get("previous_version"),
        "updated_at": format_ts(s.now_s()),
    }
    s.log.info(
        "firmware_after_update",
        version=version,
        previous=update.get("previous_version"),
        changed=version != update.get("previous_version"),
    )


class FirmwareCommands:
    def __init__(self, hub: Hub) -> None:
        self._hub = hub

    def register(self, router: CommandRouter) -> None:
        router.register(DeviceKind.CHARGER, "update_firmware", self.update_firmware)

    async def update_firmware(
        self, request: CommandRequest, args: UpdateFirmwareCommand
    ) -> CommandResult:
        request_id = next(self._hub.request_ids)
        session = online_session(self._hub, request.device_id)
        try:
            action, payload = update_payload(
                session.version, request_id, args, self._hub.clock.time()
            )
        except ValueError as exc:
            raise InvalidCommand(str(exc)) from None
        answer = await call_charger(self._hub, session, action, payload)
        status = (answer or {}).get("status")
        if action == "UpdateFirmware" and session.version == OcppVersion.V16:  # UpdateFirmware.conf is {}
            result = CommandResult.accepted(charger_status="Accepted", request_id=request_id)
        elif status == "AcceptedCanceled":  # accepted; the charger dropped an earlier update
            result = CommandResult.accepted(charger_status=status, request_id=request_id)
        else:
            result = judge(action, answer, request_id=request_id)
        if result.status.value == "accepted":
            book = self._hub.book(request.device_id)
            book.firmware_update = {
                "status": "Requested",
                "request_id": request_id,
                "updated_at": format_ts(self._hub.clock.time()),
                "location": without_credentials(args.location),
                "previous_version": book.firmware,
            }
            session.log.info("firmware_update_requested", request_id=request_id, action=action)
            await session.publish_state()
        return result
