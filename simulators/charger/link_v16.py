"""OCPP 1.6J requests from the central system (§5) and how this charge point answers."""

from __future__ import annotations

from typing import Any, ClassVar

from ocpp.v16 import call_result
from ocpp.v16.enums import Action

from simulators.charger.diagnostics import get_log, log_file_name, start_upload
from simulators.charger.firmware import start_update
from simulators.charger.link import OcppLink, handles
from simulators.charger.simclock import parse_timestamp

__all__ = ["V16Link"]


class V16Link(OcppLink):
    _call_result = call_result
    _ocpp_version = "1.6"
    known_actions: ClassVar[frozenset[str]] = frozenset(a.value for a in Action)

    @handles(Action.remote_start_transaction)
    def on_remote_start(self, call_unique_id: str, **_: Any) -> Any:
        raw = self.raw_payload(call_unique_id)
        connector = raw.get("connectorId")
        followup = self.station.ops.remote_start(
            None if connector is None else int(connector),
            str(raw.get("idTag", "")),
            raw_profile=raw.get("chargingProfile"),
        )
        self.later(call_unique_id, followup)
        return call_result.RemoteStartTransaction(status="Accepted" if followup else "Rejected")

    @handles(Action.remote_stop_transaction)
    def on_remote_stop(self, call_unique_id: str, **_: Any) -> Any:
        raw = self.raw_payload(call_unique_id)
        followup = self.station.ops.remote_stop(str(raw.get("transactionId")))
        self.later(call_unique_id, followup)
        return call_result.RemoteStopTransaction(status="Accepted" if followup else "Rejected")

    @handles(Action.set_charging_profile)
    def on_set_charging_profile(self, call_unique_id: str, **_: Any) -> Any:
        raw = self.raw_payload(call_unique_id)
        ok = self.station.ops.set_profile(int(raw["connectorId"]), raw["csChargingProfiles"])
        return call_result.SetChargingProfile(status="Accepted" if ok else "Rejected")

    @handles(Action.clear_charging_profile)
    def on_clear_charging_profile(self, call_unique_id: str, **_: Any) -> Any:
        raw = self.raw_payload(call_unique_id)
        ok = self.station.ops.clear_profiles(
            profile_id=raw.get("id"),
            evse_id=raw.get("connectorId"),
            purpose=raw.get("chargingProfilePurpose"),
            stack_level=raw.get("stackLevel"),
        )
        return call_result.ClearChargingProfile(status="Accepted" if ok else "Unknown")

    @handles(Action.get_composite_schedule)
    def on_get_composite_schedule(self, call_unique_id: str, **_: Any) -> Any:
        raw = self.raw_payload(call_unique_id)
        duration = int(raw.get("duration", 0))
        answer = self.station.ops.composite(
            int(raw.get("connectorId", 0)), duration, raw.get("chargingRateUnit")
        )
        if answer is None:
            return call_result.GetCompositeSchedule(status="Rejected")
        return call_result.GetCompositeSchedule(
            status="Accepted",
            connector_id=int(raw.get("connectorId", 0)),
            schedule_start=answer.start,
            charging_schedule={
                "duration": duration,
                "startSchedule": answer.start,
                "chargingRateUnit": answer.unit,
                "chargingSchedulePeriod": answer.periods,
            },
        )

    @handles(Action.change_availability)
    def on_change_availability(self, call_unique_id: str, **_: Any) -> Any:
        raw = self.raw_payload(call_unique_id)
        status = self.station.ops.change_availability(
            int(raw["connectorId"]), raw.get("type") == "Operative"
        )
        return call_result.ChangeAvailability(status=status)

    @handles(Action.reset)
    def on_reset(self, call_unique_id: str, **_: Any) -> Any:
        raw = self.raw_payload(call_unique_id)
        status, followup = self.station.ops.reset(hard=raw.get("type") == "Hard")
        self.later(call_unique_id, followup)
        return call_result.Reset(status=status)

    @handles(Action.unlock_connector)
    def on_unlock_connector(self, call_unique_id: str, **_: Any) -> Any:
        raw = self.raw_payload(call_unique_id)
        status, followup = self.station.ops.unlock(int(raw["connectorId"]), stop_running=True)
        self.later(call_unique_id, followup)
        return call_result.UnlockConnector(status={"Unknown": "NotSupported"}.get(status, status))

    @handles(Action.trigger_message)
    def on_trigger_message(self, call_unique_id: str, **_: Any) -> Any:
        raw = self.raw_payload(call_unique_id)
        connector = raw.get("connectorId")
        status, followup = self.station.ops.trigger(
            str(raw.get("requestedMessage")), None if connector is None else int(connector)
        )
        self.later(call_unique_id, followup)
        return call_result.TriggerMessage(status=status)

    @handles(Action.get_configuration)
    def on_get_configuration(self, call_unique_id: str, **_: Any) -> Any:
        raw = self.raw_payload(call_unique_id)
        known, unknown = self.station.settings.get_v16(raw.get("key"))
        return call_result.GetConfiguration(configuration_key=known, unknown_key=unknown or None)

    @handles(Action.change_configuration)
    def on_change_configuration(self, call_unique_id: str, **_: Any) -> Any:
        raw = self.raw_payload(call_unique_id)
        status = self.station.settings.change_v16(str(raw.get("key")), str(raw.get("value")))
        return call_result.ChangeConfiguration(status=status)

    @handles(Action.send_local_list)
    def on_send_local_list(self, call_unique_id: str, **_: Any) -> Any:
        raw = self.raw_payload(call_unique_id)
        if not self.station.settings.flag("LocalAuthListEnabled", "LocalAuthListCtrlr"):
            return call_result.SendLocalList(status="NotSupported")
        status = self.station.auth.apply(
            int(raw.get("listVersion", 0)),
            str(raw.get("updateType")),
            list(raw.get("localAuthorizationList") or []),
        )
        return call_result.SendLocalList(status=status)

    @handles(Action.get_local_list_version)
    def on_get_local_list_version(self, **_: Any) -> Any:
        return call_result.GetLocalListVersion(list_version=self.station.auth.version)

    @handles(Action.clear_cache)
    def on_clear_cache(self, **_: Any) -> Any:
        self.station.auth.cache.clear()
        return call_result.ClearCache(status="Accepted")

    @handles(Action.update_firmware)
    def on_update_firmware(self, call_unique_id: str, **_: Any) -> Any:
        raw = self.raw_payload(call_unique_id)
        self.later(call_unique_id, start_update(self.station, raw, signed_request=False))
        return call_result.UpdateFirmware()

    @handles(Action.signed_update_firmware)
    def on_signed_update_firmware(self, call_unique_id: str, **_: Any) -> Any:
        raw = self.raw_payload(call_unique_id)
        self.later(call_unique_id, start_update(self.station, raw, signed_request=True))
        return call_result.SignedUpdateFirmware(status="Accepted")

    @handles(Action.get_diagnostics)
    def on_get_diagnostics(self, call_unique_id: str, **_: Any) -> Any:
        raw = self.raw_payload(call_unique_id)
        name = log_file_name(self.station, "diagnostics")
        self.later(
            call_unique_id,
            start_upload(self.station, str(raw.get("location")), name, "diagnostics", None),
        )
        return call_result.GetDiagnostics(file_name=name)

    @handles(Action.get_log)
    def on_get_log(self, call_unique_id: str, **_: Any) -> Any:
        name, upload = get_log(self.station, self.raw_payload(call_unique_id))
        self.later(call_unique_id, upload)
        return call_result.GetLog(status="Accepted", filename=name)

    @handles(Action.reserve_now)
    def on_reserve_now(self, call_unique_id: str, **_: Any) -> Any:
        raw = self.raw_payload(call_unique_id)
        status = self.station.reservations.reserve(
            int(raw["reservationId"]),
            int(raw.get("connectorId", 0)),
            str(raw.get("idTag")),
            raw.get("parentIdTag"),
            parse_timestamp(str(raw.get("expiryDate"))),
        )
        return call_result.ReserveNow(status=status)

    @handles(Action.cancel_reservation)
    def on_cancel_reservation(self, call_unique_id: str, **_: Any) -> Any:
        raw = self.raw_payload(call_unique_id)
        ok = self.station.reservations.cancel(int(raw["reservationId"]))
        return call_result.CancelReservation(status="Accepted" if ok else "Rejected")

    @handles(Action.data_transfer)
    def on_data_transfer(self, **_: Any) -> Any:
        return call_result.DataTransfer(status="UnknownVendorId")
