"""MQTT commands -> OCPP calls (interfaces.md "Commands"): start, stop, availability, reset,
unlock, trigger. Each is a builder from (OCPP version, validated args) to (action, payload);
sending and judging the answer is shared (calls.py). `limit` lives in limits.py (plain caps)
and profile_limits.py (explicit profiles), which also has `get_schedule` and builds the
TxProfile of a `start` with a `limit`.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

from drivers.ocpp.authorization import AuthorizationCommands
from drivers.ocpp.calls import call_charger, judge, online_session
from drivers.ocpp.config_commands import ConfigCommands
from drivers.ocpp.diagnostics import LogCommands
from drivers.ocpp.firmware import FirmwareCommands
from drivers.ocpp.hub import Hub
from drivers.ocpp.limits import LimitCommands
from drivers.ocpp.profile_limits import ProfileLimits
from drivers.ocpp.provisioning import BootFollowUp
from drivers.ocpp.raw_calls import RawCalls
from drivers.ocpp.reservations import ReservationCommands
from drivers.ocpp.validation import request_validator
from gateway.foundation.commands.leasing import LeaseTerms
from gateway.foundation.commands.router import CommandHandler, CommandRouter
from gateway.foundation.commands.schemas import (
    AvailabilityCommand,
    ResetCommand,
    StartCommand,
    StopCommand,
    TriggerCommand,
    UnlockCommand,
)
from gateway.foundation.errors import DeviceNotSupported, InvalidCommand
from gateway.foundation.model import CommandRequest, CommandResult, DeviceKind
from gateway.foundation.model.versions import OcppVersion
from gateway.foundation.uploads import UploadLinks

__all__ = ["OcppCommands"]

_Call = tuple[str, dict[str, Any], dict[str, Any]]
"""(OCPP action, payload, extra result detail)."""
_Build = Callable[[OcppVersion, Any], _Call]


class OcppCommands:
    def __init__(self, hub: Hub, uploads: UploadLinks | None = None) -> None:
        self._hub = hub
        self._remote_start_ids = itertools.count(int(time.time()) % 1_000_000_000)
        self.profiles = ProfileLimits(hub)
        self.limits = LimitCommands(hub, self.profiles)
        self.config = ConfigCommands(hub)
        self.authorization = AuthorizationCommands(hub)
        self.firmware = FirmwareCommands(hub)
        self.logs = LogCommands(hub, uploads)
        self.reservations = ReservationCommands(hub)
        self.raw = RawCalls(hub)
        hub.boot_follow_up = BootFollowUp(hub, self.config.access, self.authorization)

    def register(self, router: CommandRouter) -> None:
        for name, build in (
            ("stop", self._stop),
            ("availability", self._availability),
            ("reset", self._reset),
            ("unlock", self._unlock),
            ("trigger", self._trigger),
        ):
            router.register(DeviceKind.CHARGER, name, self._simple(build))
        router.register_leased(DeviceKind.CHARGER, "start", self._start_command)
        router.register_leased(DeviceKind.CHARGER, "limit", self.limits.limit)
        router.register(DeviceKind.CHARGER, "get_schedule", self.profiles.get_schedule)
        self.config.register(router)
        self.authorization.register(router)
        for part in (self.firmware, self.logs, self.reservations, self.raw):
            part.register(router)

    def _simple(self, build: _Build) -> CommandHandler:
        """A handler: build the call for the charger's version, send it, judge the answer."""

        async def handler(request: CommandRequest, args: Any) -> CommandResult:
            session = online_session(self._hub, request.device_id)
            action, payload, detail = build(session.version, args)
            answer = await call_charger(self._hub, session, action, payload)
            return judge(action, answer, **detail)

        return handler

    async def _start_command(
        self, request: CommandRequest, args: StartCommand, lease: LeaseTerms
    ) -> CommandResult:
        """`start`, with the TxProfile inside the remote start when it carries a `limit`."""
        session = online_session(self._hub, request.device_id)
        action, payload, detail = self._start(session.version, args)
        plan = sent = None
        if args.limit is not None:
            built = self.profiles.start_profile(request.device_id, session.version, args)
            payload["chargingProfile"], plan, sent, held = built
            held_to = held.pop("held_to", None)
            detail = {**detail, "limit": held}
            if held_to is not None:
                detail["held_to"] = held_to
        if action == "RequestStartTransaction" and self._hub.tag_store is not None:
            # the Central token the charger will present back: only issued ones pass
            await self._hub.tag_store.remember_issued(args.id_tag, self._hub.clock.time())
        answer = await call_charger(self._hub, session, action, payload)
        result = judge(action, answer, **detail)
        if plan is not None and sent is not None and result.status.value == "accepted":
            await self.profiles.started_with(request.device_id, plan, sent, lease, args.id_tag)
        return result

    # -- commands: (version, args) -> (action, payload, detail) ----------------------------

    def _start(self, version: OcppVersion, args: StartCommand) -> _Call:
        if version == OcppVersion.V16:
            payload: dict[str, Any] = {"idTag": args.id_tag}
            if args.evse is not None:
                payload["connectorId"] = args.evse
            return "RemoteStartTransaction", payload, {}
        remote_id = next(self._remote_start_ids)
        payload = {
            "idToken": {"idToken": args.id_tag, "type": "Central"},
            "remoteStartId": remote_id,
        }
        if args.evse is not None:
            payload["evseId"] = args.evse
        return "RequestStartTransaction", payload, {"remote_start_id": remote_id}

    def _stop(self, version: OcppVersion, args: StopCommand) -> _Call:
        if version == OcppVersion.V16:
            try:
                tx_id = int(args.transaction_id)
            except ValueError:
                raise InvalidCommand("OCPP 1.6 transaction ids are integers") from None
            return "RemoteStopTransaction", {"transactionId": tx_id}, {}
        return "RequestStopTransaction", {"transactionId": args.transaction_id}, {}

    def _availability(self, version: OcppVersion, args: AvailabilityCommand) -> _Call:
        status = "Operative" if args.operative else "Inoperative"
        if version == OcppVersion.V16:
            _no_connector_on_16(args.connector)
            return "ChangeAvailability", {"connectorId": args.evse or 0, "type": status}, {}
        payload: dict[str, Any] = {"operationalStatus": status}
        if args.evse:
            payload["evse"] = _evse(args.evse, args.connector)
        return "ChangeAvailability", payload, {}

    def _reset(self, version: OcppVersion, args: ResetCommand) -> _Call:
        if version == OcppVersion.V16:
            if args.evse is not None:
                raise InvalidCommand("OCPP 1.6 resets the whole charger (no evse)")
            return "Reset", {"type": "Soft" if args.type == "soft" else "Hard"}, {}
        # 2.0.1 B11/B12: OnIdle waits for transactions to end, Immediate does not.
        payload: dict[str, Any] = {"type": "OnIdle" if args.type == "soft" else "Immediate"}
        if args.evse is not None:
            payload["evseId"] = args.evse
        return "Reset", payload, {}

    def _unlock(self, version: OcppVersion, args: UnlockCommand) -> _Call:
        if version == OcppVersion.V16:
            return "UnlockConnector", {"connectorId": args.evse}, {}
        return "UnlockConnector", {"evseId": args.evse, "connectorId": 1}, {}

    def _trigger(self, version: OcppVersion, args: TriggerCommand) -> _Call:
        allowed = _trigger_messages(version)
        if args.message not in allowed:
            raise DeviceNotSupported(
                f"OCPP {version} cannot trigger {args.message!r}", allowed=sorted(allowed)
            )
        payload: dict[str, Any] = {"requestedMessage": args.message}
        if args.evse is not None:
            if version == OcppVersion.V16:
                _no_connector_on_16(args.connector)
                payload["connectorId"] = args.evse
            else:
                payload["evse"] = _evse(args.evse, args.connector)
        return "TriggerMessage", payload, {}


def _evse(evse: int, connector: int | None) -> dict[str, Any]:
    """2.x EVSEType: an EVSE, optionally one of its connectors."""
    return {"id": evse} if connector is None else {"id": evse, "connectorId": connector}


def _no_connector_on_16(connector: int | None) -> None:
    if connector is not None:
        raise InvalidCommand(
            "OCPP 1.6 has no connectors inside an EVSE: address the connector as evse"
        )


def _trigger_messages(version: OcppVersion) -> frozenset[str]:
    validator = request_validator(version, "TriggerMessage")
    assert validator is not None
    schema = validator.schema
    prop = schema["properties"]["requestedMessage"]
    if "enum" in prop:
        return frozenset(prop["enum"])
    return frozenset(schema["definitions"]["MessageTriggerEnumType"]["enum"])
