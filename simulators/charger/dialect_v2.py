"""OCPP 2.0.1 / 2.1 messages from the charging station (blocks B, C, E, G, J).

A transaction is one TransactionEvent stream: Started, Updated ..., Ended, numbered by seqNo;
events created while offline carry `offline: true` (OCPP 2.0.1 E04, offline behaviour).
"""

from __future__ import annotations

import uuid
from typing import Any

from simulators.charger.dialect import STOP_REASONS, StopReason
from simulators.charger.evse import ChargingSession, Evse, EvseStatus
from simulators.charger.meter import sampled_values_v2
from simulators.charger.station_view import Station
from simulators.charger.txqueue import QueuedMessage

__all__ = ["V2Dialect", "new_transaction_id"]


def new_transaction_id() -> str:
    """2.x transaction ids are made by the station (max 36 characters)."""
    return uuid.uuid4().hex


class V2Dialect:
    def __init__(self, station: Station) -> None:
        self.station = station
        self.config = station.config
        self.version = station.config.ocpp_version

    def boot(self, reason: str) -> tuple[str, dict[str, Any]]:
        return "BootNotification", {
            "chargingStation": {
                "model": self.config.model,
                "vendorName": self.config.vendor,
                "serialNumber": self.config.serial_number,
                "firmwareVersion": self.station.firmware_version,
            },
            "reason": reason,
        }

    def heartbeat(self) -> tuple[str, dict[str, Any]]:
        return "Heartbeat", {}

    def authorize(self, id_tag: str) -> tuple[str, dict[str, Any]]:
        return "Authorize", {"idToken": self._token(id_tag)}

    def id_accepted(self, response: dict[str, Any]) -> bool:
        return bool(response.get("idTokenInfo", {}).get("status") == "Accepted")

    @staticmethod
    def _token(id_tag: str, kind: str = "ISO14443") -> dict[str, Any]:
        return {"idToken": id_tag, "type": kind}

    def status(self, evse_id: int, status: EvseStatus) -> QueuedMessage:
        payload = {
            "timestamp": self.station.timestamp(),
            "connectorStatus": status.connector_status_v2,
            "evseId": evse_id,
            "connectorId": 1,
        }
        return QueuedMessage("StatusNotification", lambda: payload, transactional=False)

    def _meter(self, evse: Evse, context: str) -> list[dict[str, Any]]:
        return [
            {
                "timestamp": self.station.timestamp(),
                "sampledValue": sampled_values_v2(
                    evse.reading(), context, bidirectional=self.config.bidirectional
                ),
            }
        ]

    def _event(
        self,
        event_type: str,
        evse: Evse,
        session: ChargingSession,
        trigger: str,
        context: str | None,
        extra_info: dict[str, Any] | None = None,
    ) -> QueuedMessage:
        if session.transaction_id is None:
            session.transaction_id = new_transaction_id()
        info: dict[str, Any] = {
            "transactionId": session.transaction_id,
            "chargingState": evse.charging_state().value,
        }
        if session.remote_start_id is not None and event_type == "Started":
            info["remoteStartId"] = session.remote_start_id
        info.update(extra_info or {})
        payload: dict[str, Any] = {
            "eventType": event_type,
            "timestamp": self.station.timestamp(),
            "triggerReason": trigger,
            "seqNo": session.next_seq(),
            "transactionInfo": info,
            "evse": {"id": evse.id, "connectorId": 1},
        }
        if not self.station.online:
            payload["offline"] = True
        if event_type != "Updated":
            payload["idToken"] = self._token(session.id_tag, session.id_token_type)
        if context is not None:
            payload["meterValue"] = self._meter(evse, context)
        if event_type == "Started":
            payload["numberOfPhasesUsed"] = evse.phases
            if session.reservation_id is not None:
                payload["reservationId"] = session.reservation_id
        return QueuedMessage(
            "TransactionEvent",
            lambda: payload,
            droppable=event_type == "Updated" and trigger == "MeterValuePeriodic",
        )

    def tx_started(self, evse: Evse, session: ChargingSession, trigger: str) -> QueuedMessage:
        return self._event("Started", evse, session, trigger, "Transaction.Begin")

    def tx_meter(self, evse: Evse, session: ChargingSession, trigger: str) -> QueuedMessage:
        context = "Trigger" if trigger == "Trigger" else "Sample.Periodic"
        return self._event("Updated", evse, session, trigger, context)

    def tx_state_changed(self, evse: Evse, session: ChargingSession) -> QueuedMessage | None:
        return self._event("Updated", evse, session, "ChargingStateChanged", None)

    def tx_ended(self, evse: Evse, session: ChargingSession, reason: StopReason) -> QueuedMessage:
        names = STOP_REASONS[reason]
        return self._event(
            "Ended",
            evse,
            session,
            names.v2_trigger,
            "Transaction.End",
            {"stoppedReason": names.v2_stopped},
        )

    def meter_values(self, evse: Evse, context: str) -> tuple[str, dict[str, Any]]:
        return "MeterValues", {"evseId": evse.id, "meterValue": self._meter(evse, context)}

    def ev_charging_needs(
        self, evse: Evse, energy_wh: float, departure: str, max_discharge_w: float | None
    ) -> tuple[str, dict[str, Any]]:
        """NotifyEVChargingNeeds as an ISO 15118 EV reports it through the station (2.0.1 K15;
        2.1 adds V2X parameters when the EV offers to discharge)."""
        ev = evse.ev
        max_charge_w = evse.max_power_w if ev is None else min(ev.max_charge_w, evse.max_power_w)
        phases = {1: "AC_single_phase", 2: "AC_two_phase", 3: "AC_three_phase"}[evse.phases]
        needs: dict[str, Any] = {
            "requestedEnergyTransfer": phases,
            "departureTime": departure,
            "acChargingParameters": {
                "energyAmount": round(energy_wh),
                "evMinCurrent": 6,
                "evMaxCurrent": round(max_charge_w / (evse.phases * evse.voltage_v)),
                "evMaxVoltage": round(evse.voltage_v * 1.1),
            },
        }
        if max_discharge_w is not None and self.version == "2.1":
            needs["requestedEnergyTransfer"] = "AC_BPT"
            needs["v2xChargingParameters"] = {
                "maxChargePower": max_charge_w,
                "maxDischargePower": max_discharge_w,
            }
            if ev is not None and evse.soc_pct is not None:
                # Energy to the bottom of the V2X range: negative while the EV is above it.
                floor_wh = (ev.min_soc_pct - evse.soc_pct) / 100 * ev.capacity_kwh * 1000
                needs["v2xChargingParameters"]["evMinV2XEnergyRequest"] = round(floor_wh)
        return "NotifyEVChargingNeeds", {"evseId": evse.id, "chargingNeeds": needs}
