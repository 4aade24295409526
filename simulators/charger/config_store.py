"""The simulated charger's configuration: 1.6 keys and a 2.x device model.

Both are tables of `Setting`s with a type, mutability and whether a change needs a reboot;
some are bound to the live behaviour (heartbeat and meter intervals). The answers follow the
standards: 1.6 ChangeConfiguration Accepted / Rejected / RebootRequired / NotSupported (§5.3),
2.x SetVariables Accepted / Rejected / UnknownComponent / UnknownVariable /
NotSupportedAttributeType / RebootRequired (B05), GetBaseReport + NotifyReport in parts (B07).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from simulators.charger.station_view import Station

__all__ = ["ConfigStore", "Setting", "V2Key"]

V2Key = tuple[str, str | None, int | None, int | None, str, str | None]
"""(component, component instance, evse, connector, variable, variable instance)."""


@dataclass
class Setting:
    value: str
    data_type: str = "string"  # integer, decimal, boolean, string, SequenceList
    readonly: bool = False
    reboot: bool = False
    """A change is stored but takes effect (and is reported Accepted) only after a reboot."""
    minimum: float | None = None
    unit: str | None = None
    bind: str | None = None
    """Station attribute the value lives in (read and written through)."""

    def check(self, value: str) -> bool:
        """Whether the value is acceptable for the setting's type."""
        if self.data_type == "integer":
            try:
                number: float = int(value)
            except ValueError:
                return False
        elif self.data_type == "decimal":
            try:
                number = float(value)
            except ValueError:
                return False
            if number != number or number in (float("inf"), float("-inf")):
                return False
        elif self.data_type == "boolean":
            return value.lower() in ("true", "false")
        else:
            return len(value) <= 500
        return self.minimum is None or number >= self.minimum


def _seconds(
    value: str, *, minimum: float = 0, reboot: bool = False, bind: str | None = None
) -> Setting:
    return Setting(value, "integer", minimum=minimum, unit="s", reboot=reboot, bind=bind)


def _v16_table(evse_count: int) -> dict[str, Setting]:
    return {
        "HeartbeatInterval": _seconds("300", minimum=1, bind="heartbeat_interval_s"),
        "MeterValueSampleInterval": _seconds("60", minimum=1, bind="meter_interval_s"),
        "ClockAlignedDataInterval": _seconds("0"),
        "ConnectionTimeOut": _seconds("60"),
        "WebSocketPingInterval": _seconds("60", reboot=True),
        "MeterValuesSampledData": Setting(
            "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage,SoC"
        ),
        "AuthorizeRemoteTxRequests": Setting("false", "boolean"),
        "LocalAuthorizeOffline": Setting("true", "boolean"),
        "LocalPreAuthorize": Setting("false", "boolean"),
        "AuthorizationCacheEnabled": Setting("true", "boolean"),
        "LocalAuthListEnabled": Setting("true", "boolean"),
        "NumberOfConnectors": Setting(str(evse_count), "integer", readonly=True),
        "LocalAuthListMaxLength": Setting("1000", "integer", readonly=True),
        "SendLocalListMaxLength": Setting("1000", "integer", readonly=True),
        "ReserveConnectorZeroSupported": Setting("true", "boolean", readonly=True),
        "StopTransactionOnInvalidId": Setting("true", "boolean"),
        "ChargeProfileMaxStackLevel": Setting("10", "integer", readonly=True),
        "ChargingScheduleAllowedChargingRateUnit": Setting("Current,Power", readonly=True),
        "ChargingScheduleMaxPeriods": Setting("24", "integer", readonly=True),
        "MaxChargingProfilesInstalled": Setting("20", "integer", readonly=True),
        "SupportedFeatureProfiles": Setting(
            "Core,FirmwareManagement,LocalAuthListManagement,Reservation,SmartCharging,RemoteTrigger",
            readonly=True,
        ),
    }


def _v2_table(evse_count: int) -> dict[V2Key, Setting]:
    table: dict[V2Key, Setting] = {
        ("OCPPCommCtrlr", None, None, None, "HeartbeatInterval", None): _seconds(
            "300", minimum=1, bind="heartbeat_interval_s"
        ),
        ("OCPPCommCtrlr", None, None, None, "WebSocketPingInterval", None): _seconds(
            "60", reboot=True
        ),
        ("SampledDataCtrlr", None, None, None, "TxUpdatedInterval", None): _seconds(
            "60", minimum=1, bind="meter_interval_s"
        ),
        ("SampledDataCtrlr", None, None, None, "TxUpdatedMeasurands", None): Setting(
            "Energy.Active.Import.Register,Power.Active.Import,Current.Import,SoC",
            "MemberList",
        ),
        ("AlignedDataCtrlr", None, None, None, "Interval", None): _seconds("0"),
        ("AuthCtrlr", None, None, None, "Enabled", None): Setting("true", "boolean"),
        ("AuthCtrlr", None, None, None, "LocalPreAuthorize", None): Setting("false", "boolean"),
        ("AuthCtrlr", None, None, None, "LocalAuthorizeOffline", None): Setting("true", "boolean"),
        ("AuthCacheCtrlr", None, None, None, "Enabled", None): Setting("true", "boolean"),
        ("LocalAuthListCtrlr", None, None, None, "Enabled", None): Setting("true", "boolean"),
        ("LocalAuthListCtrlr", None, None, None, "Entries", None): Setting(
            "0", "integer", readonly=True
        ),
        ("ReservationCtrlr", None, None, None, "Enabled", None): Setting("true", "boolean"),
        ("DeviceDataCtrlr", None, None, None, "ItemsPerMessage", "GetReport"): Setting(
            "8", "integer", readonly=True
        ),
        ("DeviceDataCtrlr", None, None, None, "ItemsPerMessage", "GetVariables"): Setting(
            "50", "integer", readonly=True
        ),
        ("SecurityCtrlr", None, None, None, "SecurityProfile", None): Setting(
            "1", "integer", readonly=True
        ),
    }
    for evse in range(1, evse_count + 1):
        table[("EVSE", None, evse, None, "Available", None)] = Setting("true", "boolean", True)
        table[("Connector", None, evse, 1, "ConnectorType", None)] = Setting(
            "cType2", readonly=True
        )
    return table


class ConfigStore:
    """The settings of one simulated charger (both tables; the version picks which is used)."""

    def __init__(self, station: Station) -> None:
        self._station = station
        self.v16 = _v16_table(len(station.evses))
        self.v2 = _v2_table(len(station.evses))
        self.pending_reboot: list[Callable[[], None]] = []
        """Changes that take effect at the next reboot."""

    def _read(self, setting: Setting) -> str:
        if setting.bind is not None:
            return f"{getattr(self._station, setting.bind):g}"
        return setting.value

    def _write(self, setting: Setting, value: str) -> str:
        """Store a checked value; `RebootRequired` when it waits for a reboot."""
        if setting.reboot:

            def later() -> None:
                setting.value = value

            self.pending_reboot.append(later)
            return "RebootRequired"
        setting.value = value
        if setting.bind is not None:
            setattr(self._station, setting.bind, float(value))
        return "Accepted"

    def rebooted(self) -> None:
        for apply in self.pending_reboot:
            apply()
        self.pending_reboot.clear()

    def flag(self, key: str, v2_component: str, v2_variable: str = "Enabled") -> bool:
        """A boolean setting in the charger's version (e.g. the local list switch)."""
        v16 = self._station.config.ocpp_version.value == "1.6"
        setting = (
            self.v16.get(key)
            if v16
            else self.v2.get((v2_component, None, None, None, v2_variable, None))
        )
        return setting is not None and self._read(setting).lower() == "true"

    # -- 1.6 ----------------------------------------------------------------------------

    def get_v16(self, keys: list[str] | None) -> tuple[list[dict[str, Any]], list[str]]:
        wanted = keys or list(self.v16)
        known = [
            {"key": k, "readonly": self.v16[k].readonly, "value": self._read(self.v16[k])}
            for k in wanted
            if k in self.v16
        ]
        return known, [k for k in wanted if k not in self.v16]

    def change_v16(self, key: str, value: str) -> str:
        setting = self.v16.get(key)
        if setting is None:
            return "NotSupported"
        if setting.readonly or not setting.check(value):
            return "Rejected"
        return self._write(setting, value)

    # -- 2.x ----------------------------------------------------------------------------

    def _find(self, item: dict[str, Any]) -> tuple[Setting | None, str]:
        component = item.get("component") or {}
        variable = item.get("variable") or {}
        evse = component.get("evse") or {}
        key: V2Key = (
            str(component.get("name")),
            component.get("instance"),
            evse.get("id"),
            evse.get("connectorId"),
            str(variable.get("name")),
            variable.get("instance"),
        )
        setting = self.v2.get(key)
        if setting is not None:
            return setting, "Accepted"
        if not any(k[:4] == key[:4] for k in self.v2):
            return None, "UnknownComponent"
        return None, "UnknownVariable"

    def get_v2(self, item: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = {"component": item["component"], "variable": item["variable"]}
        if "attributeType" in item:
            result["attributeType"] = item["attributeType"]
        setting, status = self._find(item)
        if setting is not None and item.get("attributeType", "Actual") != "Actual":
            status = "NotSupportedAttributeType"
        result["attributeStatus"] = status
        if status == "Accepted" and setting is not None:
            result["attributeValue"] = self._read(setting)
        return result

    def set_v2(self, item: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = {"component": item["component"], "variable": item["variable"]}
        if "attributeType" in item:
            result["attributeType"] = item["attributeType"]
        setting, status = self._find(item)
        if setting is not None:
            value = str(item.get("attributeValue", ""))
            if item.get("attributeType", "Actual") != "Actual":
                status = "NotSupportedAttributeType"
            elif setting.readonly or not setting.check(value):
                status = "Rejected"
            else:
                status = self._write(setting, value)
        result["attributeStatus"] = status
        return result

    def report_data(self) -> list[dict[str, Any]]:
        """Every variable as NotifyReport `reportData` (FullInventory)."""
        items = []
        for (comp, comp_inst, evse, connector, var, var_inst), setting in self.v2.items():
            component: dict[str, Any] = {"name": comp}
            if comp_inst is not None:
                component["instance"] = comp_inst
            if evse is not None:
                component["evse"] = {"id": evse}
                if connector is not None:
                    component["evse"]["connectorId"] = connector
            variable: dict[str, Any] = {"name": var}
            if var_inst is not None:
                variable["instance"] = var_inst
            characteristics: dict[str, Any] = {
                "dataType": setting.data_type,
                "supportsMonitoring": False,
            }
            if setting.unit is not None:
                characteristics["unit"] = setting.unit
            items.append(
                {
                    "component": component,
                    "variable": variable,
                    "variableAttribute": [
                        {
                            "type": "Actual",
                            "value": self._read(setting),
                            "mutability": "ReadOnly" if setting.readonly else "ReadWrite",
                        }
                    ],
                    "variableCharacteristics": characteristics,
                }
            )
        return items

    def items_per_report(self) -> int:
        setting = self.v2[("DeviceDataCtrlr", None, None, None, "ItemsPerMessage", "GetReport")]
        return max(1, int(setting.value))
