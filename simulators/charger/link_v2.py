"""OCPP 2.0.1 and 2.1 requests from the CSMS and how this charging station answers.

Both versions share the handlers; 2.1 adds V2G fields inside the charging profile, which the
profile parser reads from the raw camelCase payload (the library's key conversion loses
names such as `setpoint_L2`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from ocpp.v21 import call_result as call_result_v21
from ocpp.v21.enums import Action as ActionV21
from ocpp.v201 import call_result as call_result_v201
from ocpp.v201.enums import Action

from simulators.charger.device_report import report_followup
from simulators.charger.diagnostics import get_log
from simulators.charger.firmware import start_update
from simulators.charger.link import OcppLink, handles
from simulators.charger.simclock import parse_timestamp

__all__ = ["V21Link", "V201Link"]


class _V2Link(OcppLink):
    _call_result: Any

    @handles(Action.request_start_transaction)
    def on_request_start(self, call_unique_id: str, **_: Any) -> Any:
        raw = self.raw_payload(call_unique_id)
        token = raw.get("idToken", {})
        evse = raw.get("evseId")
        followup = self.station.ops.remote_start(
            None if evse is None else int(evse),
            str(token.get("idToken", "")),
            remote_start_id=int(raw.get("remoteStartId", 0)),
            id_token_type=str(token.get("type", "ISO14443")),
            raw_profile=raw.get("chargingProfile"),
        )
        self.later(call_unique_id, followup)
        return self._call_result.RequestStartTransaction(
            status="Accepted" if followup else "Rejected"
        )

    @handles(Action.request_stop_transaction)
    def on_request_stop(self, call_unique_id: str, **_: Any) -> Any:
        raw = self.raw_payload(call_unique_id)
        followup = self.station.ops.remote_stop(str(raw.get("transactionId")))
        self.later(call_unique_id, followup)
        return self._call_result.RequestStopTransaction(
            status="Accepted" if followup else "Rejected"
        )

    @handles(Action.set_charging_profile)
    def on_set_charging_profile(self, call_unique_id: str, **_: Any) -> Any:
        raw = self.raw_payload(call_unique_id)
        ok = self.station.ops.set_profile(int(raw["evseId"]), raw["chargingProfile"])
        return self._call_result.SetChargingProfile(status="Accepted" if ok else "Rejected")

    @handles(Action.clear_charging_profile)
    def on_clear_charging_profile(self, call_unique_id: str, **_: Any) -> Any:
        raw = self.raw_payload(call_unique_id)
        criteria = raw.get("chargingProfileCriteria") or {}
        ok = self.station.ops.clear_profiles(
            profile_id=raw.get("chargingProfileId"),
            evse_id=criteria.get("evseId"),
            purpose=criteria.get("chargingProfilePurpose"),
            stack_level=criteria.get("stackLevel"),
        )
        return self._call_result.ClearChargingProfile(status="Accepted" if ok else "Unknown")

    @handles(Action.get_composite_schedule)
    def on_get_composite_schedule(self, call_unique_id: str, **_: Any) -> Any:
        raw = self.raw_payload(call_unique_id)
        evse, duration = int(raw.get("evseId", 0)), int(raw.get("duration", 0))
        answer = self.station.ops.composite(evse, duration, raw.get("chargingRateUnit"))
        if answer is None:
            return self._call_result.GetCompositeSchedule(status="Rejected")
        return self._call_result.GetCompositeSchedule(
            status="Accepted",
            schedule={
                "evseId": evse,
                "duration": duration,
                "scheduleStart": answer.start,
                "chargingRateUnit": answer.unit,
                "chargingSchedulePeriod": answer.periods,
            },
        )

    @handles(Action.change_availability)
    def on_change_availability(self, call_unique_id: str, **_: Any) -> Any:
        raw = self.raw_payload(call_unique_id)
        evse = (raw.get("evse") or {}).get("id", 0)
        status = self.station.ops.change_availability(
            int(evse), raw.get("operationalStatus") == "Operative"
        )
        return self._call_result.ChangeAvailability(status=status)

    @handles(Action.reset)
    def on_reset(self, call_unique_id: str, **_: Any) -> Any:
        raw = self.raw_payload(call_unique_id)
        if raw.get("evseId"):
            status, followup = self.station.ops.reset_evse(
                int(raw["evseId"]), hard=raw.get("type") == "Immediate"
            )
        else:
            status, followup = self.station.ops.reset(
                hard=raw.get("type") == "Immediate", when_idle=raw.get("type") == "OnIdle"
            )
        self.later(call_unique_id, followup)
        return self._call_result.Reset(status=status)

    @handles(Action.unlock_connector)
    def on_unlock_connector(self, call_unique_id: str, **_: Any) -> Any:
        raw = self.raw_payload(call_unique_id)
        status, followup = self.station.ops.unlock(int(raw["evseId"]), stop_running=False)
        self.later(call_unique_id, followup)
        names = {"Ongoing": "OngoingAuthorizedTransaction", "Unknown": "UnknownConnector"}
        return self._call_result.UnlockConnector(status=names.get(status, status))

    @handles(Action.trigger_message)
    def on_trigger_message(self, call_unique_id: str, **_: Any) -> Any:
        raw = self.raw_payload(call_unique_id)
        evse = (raw.get("evse") or {}).get("id")
        status, followup = self.station.ops.trigger(
            str(raw.get("requestedMessage")), None if evse is None else int(evse)
        )
        self.later(call_unique_id, followup)
        return self._call_result.TriggerMessage(status=status)

    @handles(Action.get_variables)
    def on_get_variables(self, call_unique_id: str, **_: Any) -> Any:
        raw = self.raw_payload(call_unique_id)
        store = self.station.settings
        results = [store.get_v2(item) for item in raw.get("getVariableData", [])]
        return self._call_result.GetVariables(get_variable_result=results)

    @handles(Action.set_variables)
    def on_set_variables(self, call_unique_id: str, **_: Any) -> Any:
        raw = self.raw_payload(call_unique_id)
        store = self.station.settings
        results = [store.set_v2(item) for item in raw.get("setVariableData", [])]
        return self._call_result.SetVariables(set_variable_result=results)

    @handles(Action.get_base_report)
    def on_get_base_report(self, call_unique_id: str, **_: Any) -> Any:
        raw = self.raw_payload(call_unique_id)
        if raw.get("reportBase") not in ("FullInventory", "ConfigurationInventory"):
            return self._call_result.GetBaseReport(status="NotSupported")
        self.later(call_unique_id, report_followup(self.station, int(raw.get("requestId", 0))))
        return self._call_result.GetBaseReport(status="Accepted")

    @handles(Action.send_local_list)
    def on_send_local_list(self, call_unique_id: str, **_: Any) -> Any:
        raw = self.raw_payload(call_unique_id)
        if not self.station.settings.flag("LocalAuthListEnabled", "LocalAuthListCtrlr"):
            return self._call_result.SendLocalList(status="Failed")
        status = self.station.auth.apply(
            int(raw.get("versionNumber", 0)),
            str(raw.get("updateType")),
            list(raw.get("localAuthorizationList") or []),
        )
        return self._call_result.SendLocalList(status=status)

    @handles(Action.get_local_list_version)
    def on_get_local_list_version(self, **_: Any) -> Any:
        return self._call_result.GetLocalListVersion(version_number=self.station.auth.version)

    @handles(Action.clear_cache)
    def on_clear_cache(self, **_: Any) -> Any:
        if not self.station.settings.flag("AuthorizationCacheEnabled", "AuthCacheCtrlr"):
            return self._call_result.ClearCache(status="Rejected")
        self.station.auth.cache.clear()
        return self._call_result.ClearCache(status="Accepted")

    @handles(Action.update_firmware)
    def on_update_firmware(self, call_unique_id: str, **_: Any) -> Any:
        raw = self.raw_payload(call_unique_id)
        self.later(call_unique_id, start_update(self.station, raw, signed_request=True))
        return self._call_result.UpdateFirmware(status="Accepted")

    @handles(Action.get_log)
    def on_get_log(self, call_unique_id: str, **_: Any) -> Any:
        name, upload = get_log(self.station, self.raw_payload(call_unique_id))
        self.later(call_unique_id, upload)
        return self._call_result.GetLog(status="Accepted", filename=name)

    @handles(Action.reserve_now)
    def on_reserve_now(self, call_unique_id: str, **_: Any) -> Any:
        raw = self.raw_payload(call_unique_id)
        group = raw.get("groupIdToken") or {}
        status = self.station.reservations.reserve(
            int(raw["id"]),
            int(raw.get("evseId", 0)),
            str((raw.get("idToken") or {}).get("idToken")),
            group.get("idToken"),
            parse_timestamp(str(raw.get("expiryDateTime"))),
        )
        return self._call_result.ReserveNow(status=status)

    @handles(Action.cancel_reservation)
    def on_cancel_reservation(self, call_unique_id: str, **_: Any) -> Any:
        raw = self.raw_payload(call_unique_id)
        ok = self.station.reservations.cancel(int(raw["reservationId"]))
        return self._call_result.CancelReservation(status="Accepted" if ok else "Rejected")

    @handles(Action.data_transfer)
    def on_data_transfer(self, **_: Any) -> Any:
        return self._call_result.DataTransfer(status="UnknownVendorId")


class V201Link(_V2Link):
    _call_result = call_result_v201
    _ocpp_version = "2.0.1"
    known_actions: ClassVar[frozenset[str]] = frozenset(a.value for a in Action)


class V21Link(_V2Link):
    _call_result = call_result_v21
    _ocpp_version = "2.1"
    known_actions: ClassVar[frozenset[str]] = frozenset(a.value for a in ActionV21)
