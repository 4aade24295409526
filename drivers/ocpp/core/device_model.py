"""Configuration keys and the OCPP messages that read and write them, as plain functions.

1.6 has flat keys (GetConfiguration / ChangeConfiguration, §5.8 / §5.3). 2.0.1 and 2.1 have a
device model: a variable of a component, optionally on an EVSE / connector, with instances and
attribute types (Actual, Target, MinSet, MaxSet) (GetVariables / SetVariables B06 / B05,
GetBaseReport + NotifyReport B07). Users write a 2.x key as `Component/Variable`, with a
component instance as `Component[instance]`; the other coordinates are separate fields.

Every result is a list of *entries* — the shape of `detail.values` and of the retained
`config` topic: `{"key", "value"?, "readonly"?, "evse"?, "connector"?, "component_instance"?,
"instance"?, "attribute"?, "data_type"?, "unit"?}`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "OutcomeSplit",
    "VariableKey",
    "entries_from_configuration",
    "entries_from_report",
    "get_variables_payload",
    "set_variables_payload",
    "split_get_results",
]

_KEY = re.compile(
    r"^(?P<c>[^/\[\]]{1,50})(?:\[(?P<ci>[^\]]{1,50})\])?/(?P<v>[^/\[\]]{1,50})"
    r"(?:\[(?P<vi>[^\]]{1,50})\])?$"
)


@dataclass(frozen=True, slots=True)
class VariableKey:
    """One 2.x variable attribute, as the user addressed it."""

    component: str
    variable: str
    component_instance: str | None = None
    instance: str | None = None
    evse: int | None = None
    connector: int | None = None
    attribute: str | None = None

    @classmethod
    def parse(
        cls,
        text: str,
        *,
        evse: int | None = None,
        connector: int | None = None,
        instance: str | None = None,
        attribute: str | None = None,
    ) -> VariableKey:
        """ValueError with a readable reason when `text` is not `Component/Variable`."""
        match = _KEY.match(text.strip())
        if match is None:
            raise ValueError(
                f"{text!r} is not an OCPP 2.x key: write Component/Variable"
                " (e.g. OCPPCommCtrlr/HeartbeatInterval)"
            )
        return cls(
            match["c"],
            match["v"],
            match["ci"],
            instance if instance is not None else match["vi"],
            evse,
            connector,
            attribute,
        )

    @property
    def text(self) -> str:
        component = self.component + (
            f"[{self.component_instance}]" if self.component_instance else ""
        )
        return f"{component}/{self.variable}"

    def component_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.component}
        if self.component_instance is not None:
            out["instance"] = self.component_instance
        if self.evse is not None:
            out["evse"] = {"id": self.evse}
            if self.connector is not None:
                out["evse"]["connectorId"] = self.connector
        return out

    def variable_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.variable}
        if self.instance is not None:
            out["instance"] = self.instance
        return out

    def identity(self) -> tuple[Any, ...]:
        return (
            self.component,
            self.component_instance,
            self.evse,
            self.connector,
            self.variable,
            self.instance,
            self.attribute or "Actual",
        )

    def entry(self, **fields: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.text}
        for name in ("evse", "connector", "instance", "attribute"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.component_instance is not None:
            out["component_instance"] = self.component_instance
        out.update({k: v for k, v in fields.items() if v is not None})
        return out


def _identity(
    component: dict[str, Any], variable: dict[str, Any], attribute: Any
) -> tuple[Any, ...]:
    evse = component.get("evse") or {}
    return (
        component.get("name"),
        component.get("instance"),
        evse.get("id"),
        evse.get("connectorId"),
        variable.get("name"),
        variable.get("instance"),
        attribute or "Actual",
    )


def get_variables_payload(keys: list[VariableKey]) -> dict[str, Any]:
    data = []
    for key in keys:
        item: dict[str, Any] = {"component": key.component_json(), "variable": key.variable_json()}
        if key.attribute is not None:
            item["attributeType"] = key.attribute
        data.append(item)
    return {"getVariableData": data}


def set_variables_payload(key: VariableKey, value: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "attributeValue": value,
        "component": key.component_json(),
        "variable": key.variable_json(),
    }
    if key.attribute is not None:
        item["attributeType"] = key.attribute
    return {"setVariableData": [item]}


@dataclass(frozen=True, slots=True)
class OutcomeSplit:
    """A read split into what the charger gave, what it does not know, what it refused."""

    values: list[dict[str, Any]]
    unknown: list[str]
    refused: list[dict[str, Any]]


_UNKNOWN = frozenset({"UnknownComponent", "UnknownVariable", "NotSupportedAttributeType"})


def split_get_results(keys: list[VariableKey], answer: dict[str, Any]) -> OutcomeSplit:
    """GetVariablesResponse -> entries, matched to the asked keys by their coordinates."""
    results = answer.get("getVariableResult") or []
    by_identity = {
        _identity(r.get("component") or {}, r.get("variable") or {}, r.get("attributeType")): r
        for r in results
        if isinstance(r, dict)
    }
    split = OutcomeSplit([], [], [])
    for index, key in enumerate(keys):
        result = by_identity.get(key.identity())
        if result is None and index < len(results):
            result = results[index]  # some stations drop optional coordinates in the answer
        status = (result or {}).get("attributeStatus", "missing")
        if status == "Accepted":
            split.values.append(key.entry(value=result.get("attributeValue") if result else None))
        elif status in _UNKNOWN:
            split.unknown.append(key.text)
            split.refused.append(key.entry(status=status))
        else:
            info = (result or {}).get("attributeStatusInfo")
            split.refused.append(key.entry(status=status, status_info=info))
    return split


def entries_from_configuration(answer: dict[str, Any]) -> OutcomeSplit:
    """1.6 GetConfiguration.conf -> entries and unknown keys."""
    values = []
    for item in answer.get("configurationKey") or []:
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            continue
        entry: dict[str, Any] = {"key": item["key"], "readonly": bool(item.get("readonly"))}
        if item.get("value") is not None:
            entry["value"] = str(item["value"])
        values.append(entry)
    unknown = [str(k) for k in answer.get("unknownKey") or []]
    return OutcomeSplit(values, unknown, [])


def entries_from_report(report_data: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """NotifyReport `reportData` items (all parts, in order) -> one entry per attribute."""
    entries: list[dict[str, Any]] = []
    for item in report_data:
        if not isinstance(item, dict):
            continue
        component = item.get("component") or {}
        variable = item.get("variable") or {}
        evse = component.get("evse") or {}
        characteristics = item.get("variableCharacteristics") or {}
        key = VariableKey(
            str(component.get("name")),
            str(variable.get("name")),
            component.get("instance"),
            variable.get("instance"),
            evse.get("id"),
            evse.get("connectorId"),
        )
        for attribute in item.get("variableAttribute") or [{}]:
            if not isinstance(attribute, dict):
                continue
            mutability = attribute.get("mutability", "ReadWrite")
            entries.append(
                key.entry(
                    attribute=attribute.get("type", "Actual"),
                    value=attribute.get("value"),
                    readonly=mutability == "ReadOnly",
                    data_type=characteristics.get("dataType"),
                    unit=characteristics.get("unit"),
                )
            )
    return entries
