"""`get_logs`: the charger uploads a log file to the gateway's own HTTP endpoint.

1.6: GetDiagnostics (§5.7) for `diagnostics`, GetLog of the security whitepaper for
`security`; 2.x: GetLog (N01) with DiagnosticsLog or SecurityLog. The location is a one-time
upload link (`gateway.foundation.uploads`); the file lands under `state_dir/uploads/` and is
announced as event `log_uploaded` {name, size, sha256, request_id}. The charger's
LogStatusNotification / DiagnosticsStatusNotification are published as events with the
request id they belong to (1.6 DiagnosticsStatusNotification has none: the latest request).
"""

from __future__ import annotations

from typing import Any

from drivers.ocpp.calls import call_charger, judge, online_session
from drivers.ocpp.hub import Hub
from drivers.ocpp.session import ChargerSession
from gateway.foundation.commands.management import GetLogsCommand, utc_text
from gateway.foundation.commands.router import CommandRouter
from gateway.foundation.errors import CommandRejected, DeviceRefused, InvalidCommand
from gateway.foundation.model import (
    ChargerEvent,
    ChargerId,
    CommandRequest,
    CommandResult,
    DeviceKind,
)
from gateway.foundation.model.versions import OcppVersion
from gateway.foundation.uploads import StoredUpload, UploadLinks

__all__ = ["LogCommands", "log_request_payload", "log_status"]


def log_request_payload(
    version: OcppVersion, request_id: int, location: str, args: GetLogsCommand
) -> tuple[str, dict[str, Any]]:
    retries: dict[str, Any] = {}
    if args.retries is not None:
        retries["retries"] = args.retries
    if args.retry_interval_s is not None:
        retries["retryInterval"] = args.retry_interval_s
    if version == OcppVersion.V16 and args.type == "diagnostics":
        payload: dict[str, Any] = {"location": location, **retries}
        if args.since is not None:
            payload["startTime"] = utc_text(args.since)
        if args.until is not None:
            payload["stopTime"] = utc_text(args.until)
        return "GetDiagnostics", payload
    log: dict[str, Any] = {"remoteLocation": location}
    if args.since is not None:
        log["oldestTimestamp"] = utc_text(args.since)
    if args.until is not None:
        log["latestTimestamp"] = utc_text(args.until)
    kind = "DiagnosticsLog" if args.type == "diagnostics" else "SecurityLog"
    return "GetLog", {"logType": kind, "requestId": request_id, "log": log, **retries}


def log_status(name: str) -> Any:
    """LogStatusNotification / DiagnosticsStatusNotification: an event tied to its request."""

    async def handler(s: ChargerSession, p: dict[str, Any]) -> dict[str, Any]:
        data = dict(p)
        latest = s.hub.book(s.charger_id).log_request
        if "requestId" in p:
            data["request_id"] = p["requestId"]
        elif latest is not None:
            data["request_id"] = latest
        s.log.info(name, status=p.get("status"), request_id=data.get("request_id"))
        s.hub.recorder.record(ChargerEvent(ChargerId(s.charger_id), name, data))
        return {}

    return handler


class LogCommands:
    def __init__(self, hub: Hub, uploads: UploadLinks | None) -> None:
        self._hub = hub
        self._uploads = uploads
        if uploads is not None:
            uploads.subscribe(self._uploaded)

    def register(self, router: CommandRouter) -> None:
        router.register(DeviceKind.CHARGER, "get_logs", self.get_logs)

    def _uploaded(self, stored: StoredUpload) -> None:
        data = {
            "name": stored.name,
            "size": stored.size,
            "sha256": stored.sha256,
            "request_id": stored.request_id,
        }
        self._hub.recorder.record(ChargerEvent(ChargerId(stored.charger_id), "log_uploaded", data))

    async def get_logs(self, request: CommandRequest, args: GetLogsCommand) -> CommandResult:
        if self._uploads is None:
            raise CommandRejected("no HTTP server to upload to: set http.enabled: true")
        request_id = next(self._hub.request_ids)
        session = online_session(self._hub, request.device_id)
        try:
            location = self._uploads.issue(request.device_id, request_id)
        except ValueError as exc:
            raise InvalidCommand(str(exc)) from None
        action, payload = log_request_payload(session.version, request_id, location, args)
        answer = await call_charger(self._hub, session, action, payload)
        answer = answer or {}
        if action == "GetDiagnostics":  # the answer is the file name, or nothing to upload
            name = answer.get("fileName")
            if not name:
                raise DeviceRefused(
                    "the charger has no diagnostics to upload", request_id=request_id
                )
            result = CommandResult.accepted(request_id=request_id, file_name=name)
        elif answer.get("status") == "AcceptedCanceled":
            result = CommandResult.accepted(
                charger_status="AcceptedCanceled", request_id=request_id
            )
        else:
            named = {"file_name": answer["filename"]} if answer.get("filename") else {}
            result = judge(action, answer, request_id=request_id, **named)
        if result.status.value == "accepted":
            self._hub.book(request.device_id).log_request = request_id
            session.log.info("log_requested", request_id=request_id, action=action)
        return result
