"""Payloads of the charger management commands (configuration, firmware, logs, authorisation,
reservations, raw OCPP calls) and of the site's `tags` command.

Bounds are what the OCPP schemas allow (id tags 20 characters in 1.6 and 36 in 2.x, keys 50,
values 500 in 1.6 and 1000 in 2.x, URLs 512 in 1.6 and 2000 in 2.x); the driver checks the
version-specific bound, these models the widest one, so nonsense never reaches a driver.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "CancelReservationCommand",
    "ClearCacheCommand",
    "ConfigKey",
    "GetConfigCommand",
    "GetLogsCommand",
    "LocalListCommand",
    "LocalListEntry",
    "RawOcppCommand",
    "ReportCommand",
    "ReserveCommand",
    "SetConfigCommand",
    "TagEntry",
    "TagRemoval",
    "TagsCommand",
    "UpdateFirmwareCommand",
    "utc_text",
]

_PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
ConfigKey = Annotated[str, Field(min_length=1, max_length=160, pattern=_PRINTABLE)]
"""1.6: the configuration key. 2.x: `Component/Variable`, optionally `Component[instance]`."""
IdTag = Annotated[str, Field(min_length=1, max_length=36, pattern=_PRINTABLE)]
Url = Annotated[
    str, Field(min_length=1, max_length=2000, pattern=r"^[A-Za-z][A-Za-z0-9+.-]*://\S+$")
]
EvseNo = Annotated[int, Field(ge=0, le=1000)]
Group = Annotated[str, Field(min_length=1, max_length=36, pattern=_PRINTABLE)]


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Addressing(_Command):
    """2.x device-model addressing; 1.6 chargers refuse a command that uses it."""

    evse: Annotated[int, Field(ge=1, le=1000)] | None = None
    connector: Annotated[int, Field(ge=1, le=1000)] | None = None
    instance: Annotated[str, Field(min_length=1, max_length=50, pattern=_PRINTABLE)] | None = None
    """The variable's instance (a component instance goes in the key: `Component[inst]/Var`)."""
    attribute: Literal["Actual", "Target", "MinSet", "MaxSet"] | None = None

    @model_validator(mode="after")
    def _connector_needs_evse(self) -> _Addressing:
        if self.connector is not None and self.evse is None:
            raise ValueError("connector needs evse")
        return self

    @property
    def addressed(self) -> bool:
        return any(
            x is not None for x in (self.evse, self.connector, self.instance, self.attribute)
        )


class GetConfigCommand(_Addressing):
    keys: Annotated[list[ConfigKey], Field(min_length=1, max_length=100)] | None = None
    """None: every key (1.6) / the charger's full inventory (2.x, like `report`)."""


class SetConfigCommand(_Addressing):
    key: ConfigKey
    value: (
        bool
        | Annotated[int, Field(ge=-(2**53), le=2**53)]
        | Annotated[float, Field(allow_inf_nan=False)]
        | Annotated[str, Field(max_length=1000)]
    )

    @property
    def text(self) -> str:
        """OCPP carries every value as a string; booleans as `true`/`false`."""
        if isinstance(self.value, bool):
            return "true" if self.value else "false"
        if isinstance(self.value, float) and self.value.is_integer():
            return str(int(self.value))
        return str(self.value)


class ReportCommand(_Command):
    pass


class UpdateFirmwareCommand(_Command):
    location: Url
    retrieve_at: AwareDatetime | None = None
    """When the charger should start downloading; default now."""
    install_at: AwareDatetime | None = None
    retries: Annotated[int, Field(ge=0, le=100)] | None = None
    retry_interval_s: Annotated[int, Field(ge=0, le=86_400)] | None = None
    signature: Annotated[str, Field(min_length=1, max_length=800)] | None = None
    signing_certificate: Annotated[str, Field(min_length=1, max_length=5500)] | None = None


class GetLogsCommand(_Command):
    type: Literal["diagnostics", "security"] = "diagnostics"
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None
    retries: Annotated[int, Field(ge=0, le=100)] | None = None
    retry_interval_s: Annotated[int, Field(ge=0, le=86_400)] | None = None

    @model_validator(mode="after")
    def _ordered(self) -> GetLogsCommand:
        if self.since is not None and self.until is not None and self.since > self.until:
            raise ValueError("since must not be after until")
        return self


class LocalListEntry(_Command):
    id_tag: IdTag
    status: Literal["Accepted", "Blocked", "Expired", "Invalid"] | None = "Accepted"
    """None removes the tag from the charger's list (differential updates only)."""
    expires_at: AwareDatetime | None = None
    group: Group | None = None


class LocalListCommand(_Command):
    version: Annotated[int, Field(ge=1, le=2_147_483_647)]
    update: Literal["full", "differential"] = "full"
    entries: Annotated[list[LocalListEntry], Field(max_length=10_000)] | None = None
    """None: the site's tags (`P/site/cmd/tags`)."""

    @model_validator(mode="after")
    def _removals_only_differential(self) -> LocalListCommand:
        if self.update == "full" and any(e.status is None for e in self.entries or ()):
            raise ValueError("a full list cannot remove entries (status null)")
        return self


class ClearCacheCommand(_Command):
    pass


class ReserveCommand(_Command):
    id_tag: IdTag
    expires_at: AwareDatetime
    evse: EvseNo | None = None
    """None or 0: any EVSE of the charger."""
    token_type: Literal["ISO14443", "ISO15693", "KeyCode", "Local", "MacAddress", "EMAID"] = (
        "ISO14443"
    )
    """2.x idToken type; 1.6 has no types."""
    group: Group | None = None


class CancelReservationCommand(_Command):
    reservation_id: Annotated[int, Field(ge=0, le=2_147_483_647)]


class RawOcppCommand(_Command):
    action: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9]+$")]
    payload: dict[str, Any] = {}


class TagEntry(_Command):
    id_tag: IdTag
    expires_at: AwareDatetime | None = None
    group: Group | None = None


class TagRemoval(_Command):
    id_tag: IdTag


class TagsCommand(_Command):
    add: Annotated[list[TagEntry], Field(max_length=10_000)] = []
    remove: Annotated[list[TagRemoval], Field(max_length=10_000)] = []

    @model_validator(mode="after")
    def _something(self) -> TagsCommand:
        if not self.add and not self.remove:
            raise ValueError("add or remove is required")
        return self


def utc_text(value: datetime) -> str:
    """An aware datetime as OCPP writes it (UTC, `Z`)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
