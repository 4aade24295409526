"""Faults and field quirks on demand (`sim.inject`), for tests and scenarios.

Each one imitates something real chargers do: drop the connection, go silent, send frames
that are not OCPP-J, or payloads a strict schema refuses (1.6 meter values as numbers,
transaction id 0, local-time or 1970 timestamps).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from simulators.charger.config import OcppVersion
from simulators.charger.link import OcppLink
from simulators.charger.meter import sampled_values_v2, sampled_values_v16
from simulators.charger.recorder import SentCall
from simulators.charger.simclock import TimestampStyle
from simulators.charger.station_view import Station

__all__ = ["FaultInjector", "NotConnectedError"]


class NotConnectedError(RuntimeError):
    """The fault needs a live connection and there is none."""


class FaultInjector:
    def __init__(self, station: Station) -> None:
        self._station = station
        self._audible = asyncio.Event()
        self._audible.set()
        self.tx_id_zero = False
        self.timestamp_style = TimestampStyle.UTC
        self.offline_until: float = 0.0  # loop time before which no reconnect is tried

    # -- connection ------------------------------------------------------------------------

    async def disconnect(self, *, offline_s: float = 0.0) -> None:
        """Drop the socket without a close handshake; stay away `offline_s` real seconds."""
        self.offline_until = asyncio.get_running_loop().time() + offline_s
        link = self._station.link
        if link is not None:
            link.abort()
        await asyncio.sleep(0)

    @property
    def silent(self) -> bool:
        return not self._audible.is_set()

    def silence(self, on: bool = True) -> None:
        """Stop answering the central system and stop sending (a hung firmware)."""
        if on:
            self._audible.clear()
        else:
            self._audible.set()

    @asynccontextmanager
    async def silenced(self) -> AsyncIterator[None]:
        self.silence(True)
        try:
            yield
        finally:
            self.silence(False)

    async def wait_unsilenced(self) -> None:
        await self._audible.wait()

    # -- quirks that change later messages -------------------------------------------------

    def use_tx_id_zero(self, on: bool = True) -> None:
        """1.6: send transactionId 0 in StopTransaction and MeterValues."""
        self.tx_id_zero = on

    def timestamps(self, style: TimestampStyle | str) -> None:
        """Write every later timestamp as UTC, local time without offset, or 1970 uptime."""
        self.timestamp_style = TimestampStyle(style)

    @property
    def bends_schema(self) -> bool:
        """Whether payloads may now break the schema (then they go out unvalidated)."""
        return self.timestamp_style is not TimestampStyle.UTC

    # -- raw frames ------------------------------------------------------------------------

    def _link(self) -> OcppLink:
        link: OcppLink | None = self._station.link
        if link is None:
            raise NotConnectedError(f"{self._station.config.charger_id} is not connected")
        return link

    async def send_raw(
        self, frame: str, *, reply_to: str | None = None, wait_s: float = 5.0
    ) -> list[Any] | None:
        """Send any text; return the reply frame to CALL id `reply_to` if one comes in time."""
        return await self._link().send_raw(frame, reply_to=reply_to, timeout_s=wait_s)

    async def send_call_raw(
        self, action: str, payload: Any, message_type: int = 2, *, wait_s: float = 5.0
    ) -> list[Any] | None:
        """A CALL frame past the schema check; returns the central system's reply frame."""
        unique_id = str(uuid.uuid4())
        frame = json.dumps([message_type, unique_id, action, payload])
        record = SentCall(action, payload, unique_id, self._station.clock.now(), raw=True)
        self._station.recorder.record_sent(record)
        reply = await self.send_raw(frame, reply_to=unique_id, wait_s=wait_s)
        if reply and reply[0] == 3 and isinstance(reply[2], dict):
            record.response = reply[2]
        elif reply and reply[0] == 4:
            record.error = str(reply[2])
        self._station.recorder.answered(record)
        return reply

    async def send_invalid_json(self) -> None:
        """A frame that is not JSON at all."""
        await self.send_raw('[2, "broken", "Heartbeat", {')

    async def send_wrong_message_type(self, wait_s: float = 0.5) -> list[Any] | None:
        """A frame with message type id 7, which OCPP-J does not define.

        Many central systems ignore it, so the answer (2.0.1: MessageTypeNotSupported) is
        awaited only briefly.
        """
        return await self.send_call_raw("Heartbeat", {}, message_type=7, wait_s=wait_s)

    async def send_wrong_payload_types(self) -> list[Any] | None:
        """A BootNotification whose fields have the wrong JSON types."""
        if self._station.config.ocpp_version is OcppVersion.V16:
            payload: dict[str, Any] = {"chargePointVendor": 42, "chargePointModel": ["x"]}
        else:
            payload = {"chargingStation": {"model": 42, "vendorName": True}, "reason": 1}
        return await self.send_call_raw("BootNotification", payload)

    async def send_numeric_meter_values(self, evse: int = 1) -> list[Any] | None:
        """MeterValues with the value type flipped: numbers in 1.6, strings in 2.x."""
        station = self._station
        unit = station.evses[evse]
        stamp = station.timestamp()
        if station.config.ocpp_version is OcppVersion.V16:
            samples = sampled_values_v16(unit.reading())
            for sample in samples:
                sample["value"] = float(sample["value"])
            payload: dict[str, Any] = {
                "connectorId": evse,
                "meterValue": [{"timestamp": stamp, "sampledValue": samples}],
            }
            if unit.session is not None and unit.session.transaction_id is not None:
                payload["transactionId"] = int(unit.session.transaction_id)
        else:
            samples = sampled_values_v2(unit.reading())
            for sample in samples:
                sample["value"] = str(sample["value"])
            payload = {
                "evseId": evse,
                "meterValue": [{"timestamp": stamp, "sampledValue": samples}],
            }
        return await self.send_call_raw("MeterValues", payload)
