"""OCPP 1.6J messages from the charge point (§4: Operations Initiated by Charge Point)."""

from __future__ import annotations

from typing import Any

from simulators.charger.config import OcppVersion
from simulators.charger.dialect import STOP_REASONS, SkipMessageError, StopReason
from simulators.charger.evse import ChargingSession, Evse, EvseStatus
from simulators.charger.meter import sampled_values_v16
from simulators.charger.station_view import Station
from simulators.charger.txqueue import QueuedMessage

__all__ = ["V16Dialect"]


class V16Dialect:
    version = OcppVersion.V16

    def __init__(self, station: Station) -> None:
        self.station = station
        self.config = station.config

    def boot(self, reason: str) -> tuple[str, dict[str, Any]]:
        return "BootNotification", {
            "chargePointVendor": self.config.vendor,
            "chargePointModel": self.config.model,
            "chargePointSerialNumber": self.config.serial_number,
            "chargeBoxSerialNumber": self.config.serial_number,
            "firmwareVersion": self.station.firmware_version,
        }

    def heartbeat(self) -> tuple[str, dict[str, Any]]:
        return "Heartbeat", {}

    def authorize(self, id_tag: str) -> tuple[str, dict[str, Any]]:
        return "Authorize", {"idTag": id_tag}

    def id_accepted(self, response: dict[str, Any]) -> bool:
        return bool(response.get("idTagInfo", {}).get("status") == "Accepted")

    def status(self, evse_id: int, status: EvseStatus) -> QueuedMessage:
        payload = {
            "connectorId": evse_id,
            "errorCode": "NoError",
            "status": status.value,
            "timestamp": self.station.timestamp(),
        }
        return QueuedMessage("StatusNotification", lambda: payload, transactional=False)

    def _tx_id(self, session: ChargingSession) -> int:
        """The id the central system gave; 0 when the tx-id-zero quirk is on (§7.7 txId)."""
        if self.station.faults.tx_id_zero:
            return 0
        if session.transaction_id is None:
            raise SkipMessageError("transaction was never accepted")
        return int(session.transaction_id)

    def tx_started(self, evse: Evse, session: ChargingSession, trigger: str) -> QueuedMessage:
        payload = {
            "connectorId": evse.id,
            "idTag": session.id_tag,
            "meterStart": round(session.meter_start_wh),
            "timestamp": self.station.timestamp(session.started_at),
        }
        if session.reservation_id is not None:
            payload["reservationId"] = session.reservation_id

        def on_response(response: dict[str, Any]) -> None:
            session.transaction_id = str(response.get("transactionId", 0))
            if response.get("idTagInfo", {}).get("status") not in ("Accepted", None):
                self.station.deauthorize(evse.id)

        return QueuedMessage("StartTransaction", lambda: payload, on_response=on_response)

    def tx_meter(self, evse: Evse, session: ChargingSession, trigger: str) -> QueuedMessage:
        context = "Trigger" if trigger == "Trigger" else "Sample.Periodic"
        values = [
            {
                "timestamp": self.station.timestamp(),
                "sampledValue": sampled_values_v16(
                    evse.reading(), context, bidirectional=self.config.bidirectional
                ),
            }
        ]

        def build() -> dict[str, Any]:
            return {
                "connectorId": evse.id,
                "transactionId": self._tx_id(session),
                "meterValue": values,
            }

        return QueuedMessage("MeterValues", build, droppable=True)

    def tx_state_changed(self, evse: Evse, session: ChargingSession) -> QueuedMessage | None:
        return None  # 1.6 reports charging state through StatusNotification only

    def tx_ended(self, evse: Evse, session: ChargingSession, reason: StopReason) -> QueuedMessage:
        now = self.station.timestamp()
        end_values = [
            {
                "timestamp": now,
                "sampledValue": sampled_values_v16(
                    evse.reading(), "Transaction.End", bidirectional=self.config.bidirectional
                ),
            }
        ]
        meter_stop = round(evse.energy_import_wh)

        def build() -> dict[str, Any]:
            return {
                "transactionId": self._tx_id(session),
                "idTag": session.id_tag,
                "meterStop": meter_stop,
                "timestamp": now,
                "reason": STOP_REASONS[reason].v16,
                "transactionData": end_values,
            }

        return QueuedMessage("StopTransaction", build)

    def meter_values(self, evse: Evse, context: str) -> tuple[str, dict[str, Any]]:
        payload: dict[str, Any] = {
            "connectorId": evse.id,
            "meterValue": [
                {
                    "timestamp": self.station.timestamp(),
                    "sampledValue": sampled_values_v16(
                        evse.reading(), context, bidirectional=self.config.bidirectional
                    ),
                }
            ],
        }
        if evse.session is not None and evse.session.transaction_id is not None:
            payload["transactionId"] = self._tx_id(evse.session)
        return "MeterValues", payload
