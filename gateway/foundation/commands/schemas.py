"""Command payloads: the public contract of `P/{target}/{id}/cmd/{name}`.

Every model forbids unknown fields (a typo such as `ttl` for `ttl_s` is rejected, not ignored).
The optional request `id` is taken off before validation and echoed in the result.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from gateway.foundation.commands.management import (
    CancelReservationCommand,
    ClearCacheCommand,
    GetConfigCommand,
    GetLogsCommand,
    LocalListCommand,
    RawOcppCommand,
    ReportCommand,
    ReserveCommand,
    SetConfigCommand,
    TagsCommand,
    UpdateFirmwareCommand,
)
from gateway.foundation.model.ids import DeviceKind

__all__ = [
    "COMMAND_SCHEMAS",
    "AvailabilityCommand",
    "GetScheduleCommand",
    "GridLimitCommand",
    "LimitCommand",
    "ModeCommand",
    "PowerTargetCommand",
    "ResetCommand",
    "ScheduleCommand",
    "SchedulePeriod",
    "ScheduleWindow",
    "SetpointCommand",
    "StartCommand",
    "StartLimit",
    "StopCommand",
    "TriggerCommand",
    "UnlockCommand",
]

Ttl = Annotated[float, Field(gt=0, le=86_400, description="Seconds until the setpoint lapses")]
Evse = Annotated[
    int, Field(ge=0, le=1000, description="EVSE (OCPP 1.6: connector); 0 = whole charger")
]
Connector = Annotated[int, Field(ge=1, le=1000, description="Connector of the EVSE (OCPP 2.x)")]
Watts = Annotated[float, Field(ge=-10_000_000, le=10_000_000, allow_inf_nan=False)]
Amps = Annotated[float, Field(ge=-10_000, le=10_000, allow_inf_nan=False)]
StackLevel = Annotated[int, Field(ge=0, le=1000, description="Charging profile stack level")]
Purpose = Literal["charger_max", "tx_default", "tx"]
OperationMode = Literal[
    "Idle",
    "ChargingOnly",
    "CentralSetpoint",
    "ExternalSetpoint",
    "ExternalLimits",
    "CentralFrequency",
    "LocalFrequency",
    "LocalLoadBalancing",
]
MAX_PERIODS = 1024
"""The OCPP 2.x schema's bound on chargingSchedulePeriod; chargers often take fewer."""


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SchedulePeriod(_Command):
    """One period of a schedule: from `offset_s` after the schedule's start until the next.

    `power_w` or `current_a` (negative: discharge, OCPP 2.1); 2.1 V2G periods may name an
    `operation_mode` and give `setpoint`/`discharge_limit` in the same unit as the value.
    """

    offset_s: Annotated[int, Field(ge=0, le=100_000_000)]
    power_w: Watts | None = None
    current_a: Amps | None = None
    phases: Literal[1, 2, 3] | None = None
    operation_mode: OperationMode | None = None
    setpoint: Annotated[float, Field(ge=-10_000_000, le=10_000_000, allow_inf_nan=False)] | None = (
        None
    )
    discharge_limit: Annotated[float, Field(ge=-10_000_000, le=0, allow_inf_nan=False)] | None = (
        None
    )

    @model_validator(mode="after")
    def _one_quantity(self) -> SchedulePeriod:
        if (self.power_w is None) == (self.current_a is None):
            raise ValueError("each period needs exactly one of power_w or current_a")
        return self

    @property
    def unit(self) -> Literal["W", "A"]:
        return "W" if self.power_w is not None else "A"

    @property
    def value(self) -> float:
        return self.power_w if self.power_w is not None else self.current_a  # type: ignore[return-value]


def _ordered(periods: list[SchedulePeriod]) -> list[SchedulePeriod]:
    if periods[0].offset_s != 0:
        raise ValueError("the first period must have offset_s 0")
    offsets = [p.offset_s for p in periods]
    if any(b <= a for a, b in pairwise(offsets)):
        raise ValueError("period offsets must be strictly increasing")
    if len({p.unit for p in periods}) > 1:
        raise ValueError("all periods of a schedule use one unit: power_w or current_a")
    return periods


Schedule = Annotated[
    list[SchedulePeriod],
    Field(min_length=1, max_length=MAX_PERIODS),
    AfterValidator(_ordered),
]


def _check_timing(
    kind: str | None,
    recurrency: str | None,
    start: datetime | None,
    valid_from: datetime | None,
    valid_to: datetime | None,
) -> None:
    if kind == "recurring" and recurrency is None:
        raise ValueError("kind recurring needs recurrency: daily or weekly")
    if recurrency is not None and kind != "recurring":
        raise ValueError("recurrency is only for kind recurring")
    if kind == "relative" and start is not None:
        raise ValueError("a relative schedule starts with the transaction: no start")
    if valid_from is not None and valid_to is not None and valid_to <= valid_from:
        raise ValueError("valid_to must be after valid_from")


class LimitCommand(_Command):
    """Charging limit (one value or a schedule) as an OCPP charging profile.

    Negative values ask a bidirectional 2.1 charger to discharge (V2G). `{"power_w": null}`
    clears: with `purpose` or `stack_level` by those criteria (ClearChargingProfile), else the
    gateway's own profile(s) on `evse`. The rules that need the charger (units, rating,
    version) are checked when the profile is built (drivers/ocpp/core/profile_plan.py).
    """

    power_w: Watts | None = None
    current_a: Amps | None = None
    schedule: Schedule | None = None
    evse: Evse | None = None
    ttl_s: Ttl | None = None
    purpose: Purpose | None = None
    kind: Literal["absolute", "relative", "recurring"] | None = None
    recurrency: Literal["daily", "weekly"] | None = None
    start: AwareDatetime | None = None
    valid_from: AwareDatetime | None = None
    valid_to: AwareDatetime | None = None
    stack_level: StackLevel | None = None

    @model_validator(mode="after")
    def _one_quantity(self) -> LimitCommand:
        given = [
            name for name in ("power_w", "current_a", "schedule") if getattr(self, name) is not None
        ]
        if len(given) > 1:
            raise ValueError(
                f"give one of power_w, current_a or schedule, not {' and '.join(given)}"
            )
        if not given and not {"power_w", "current_a", "schedule"} & self.model_fields_set:
            raise ValueError(
                'power_w, current_a or schedule is required ({"power_w": null} clears the limit)'
            )
        if self.clears:
            extra = [
                name
                for name in ("kind", "recurrency", "start", "valid_from", "valid_to")
                if getattr(self, name) is not None
            ]
            if extra:
                raise ValueError(f"a clear takes only purpose, evse and stack_level, not {extra}")
            return self
        _check_timing(self.kind, self.recurrency, self.start, self.valid_from, self.valid_to)
        return self

    @property
    def clears(self) -> bool:
        return self.power_w is None and self.current_a is None and self.schedule is None

    @property
    def explicit(self) -> bool:
        """More than a plain cap: a purpose, kind, schedule, validity or stack level. Plain
        limits of all sources combine into one profile; an explicit one is sent as given."""
        fields = ("purpose", "kind", "schedule", "start", "valid_from", "valid_to", "stack_level")
        return any(getattr(self, name) is not None for name in fields)

    @property
    def clears_by_criteria(self) -> bool:
        """A clear that names a purpose or stack level (ClearChargingProfile criteria)."""
        return self.clears and (self.purpose is not None or self.stack_level is not None)


class StartLimit(_Command):
    """The TxProfile sent inside a remote start: one value or a schedule."""

    power_w: Watts | None = None
    current_a: Amps | None = None
    schedule: Schedule | None = None
    kind: Literal["absolute", "relative"] | None = None
    start: AwareDatetime | None = None
    stack_level: StackLevel | None = None

    @model_validator(mode="after")
    def _one_quantity(self) -> StartLimit:
        given = [n for n in ("power_w", "current_a", "schedule") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("a start limit needs exactly one of power_w, current_a or schedule")
        _check_timing(self.kind or "relative", None, self.start, None, None)
        return self


class StartCommand(_Command):
    id_tag: Annotated[str, Field(min_length=1, max_length=36)]
    evse: Annotated[int, Field(ge=1, le=1000)] | None = None
    limit: StartLimit | None = None


class GetScheduleCommand(_Command):
    """The charger's composite schedule (GetCompositeSchedule) for an EVSE (0: the grid
    connection of the whole charger)."""

    evse: Evse = 0
    duration_s: Annotated[int, Field(ge=1, le=7 * 86_400)]
    unit: Literal["W", "A"] | None = None


class StopCommand(_Command):
    transaction_id: Annotated[str, Field(min_length=1, max_length=64)]


class AvailabilityCommand(_Command):
    operative: bool
    evse: Evse | None = None
    connector: Connector | None = None

    @model_validator(mode="after")
    def _connector_needs_evse(self) -> AvailabilityCommand:
        if self.connector is not None and not self.evse:
            raise ValueError("connector needs evse")
        return self


class ResetCommand(_Command):
    type: Literal["soft", "hard"]
    evse: Annotated[int, Field(ge=1, le=1000)] | None = None
    """Reset one EVSE (OCPP 2.x); None: the whole charger."""


class UnlockCommand(_Command):
    evse: Annotated[int, Field(ge=1, le=1000)]


class TriggerCommand(_Command):
    message: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9]+$")]
    evse: Annotated[int, Field(ge=1, le=1000)] | None = None
    connector: Connector | None = None

    @model_validator(mode="after")
    def _connector_needs_evse(self) -> TriggerCommand:
        if self.connector is not None and self.evse is None:
            raise ValueError("connector needs evse")
        return self


class SetpointCommand(_Command):
    """Battery power in load convention: positive charges, negative discharges."""

    power_w: Watts
    ttl_s: Ttl | None = None


class ModeCommand(_Command):
    mode: Literal["idle", "manual", "auto"]


class GridLimitCommand(_Command):
    import_w: Annotated[float, Field(ge=0, le=100_000_000, allow_inf_nan=False)] | None
    export_w: Annotated[float, Field(ge=0, le=100_000_000, allow_inf_nan=False)] | None = None
    ttl_s: Ttl | None = None


class PowerTargetCommand(_Command):
    """Grid import to hold (negative: export), within every limit; null ends the target."""

    import_w: Annotated[
        Watts | None, Field(description="Grid import to hold, W (negative: export); null ends it")
    ]
    ttl_s: Ttl


class ScheduleWindow(_Command):
    """From `start` to `end` (RFC 3339 with an offset), an import limit and/or a power target;
    `repeat: daily` repeats the window every 24 h from `start`."""

    start: Annotated[AwareDatetime, Field(description="Window start, RFC 3339 with an offset")]
    end: Annotated[AwareDatetime, Field(description="Window end (after start)")]
    repeat: Annotated[
        Literal["none", "daily"], Field(description="daily: every 24 h from start")
    ] = "none"
    import_limit_w: Annotated[
        float | None,
        Field(gt=0, le=100_000_000, allow_inf_nan=False, description="Import limit, W"),
    ] = None
    import_w: Annotated[
        Watts | None, Field(description="Power target, W (negative: export), within the limit")
    ] = None

    @model_validator(mode="after")
    def _sensible(self) -> ScheduleWindow:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if self.repeat == "daily" and self.end - self.start > timedelta(days=1):
            raise ValueError("a daily window lasts at most 24 h")
        if self.import_limit_w is None and self.import_w is None:
            raise ValueError("give import_limit_w, import_w or both")
        return self


class ScheduleCommand(_Command):
    """Replaces the whole schedule (an empty list clears it); stored, followed offline."""

    windows: Annotated[
        list[ScheduleWindow],
        Field(max_length=200, description="Time windows; where they overlap the first wins"),
    ]


COMMAND_SCHEMAS: dict[tuple[DeviceKind, str], type[BaseModel]] = {
    (DeviceKind.CHARGER, "limit"): LimitCommand,
    (DeviceKind.CHARGER, "start"): StartCommand,
    (DeviceKind.CHARGER, "stop"): StopCommand,
    (DeviceKind.CHARGER, "availability"): AvailabilityCommand,
    (DeviceKind.CHARGER, "reset"): ResetCommand,
    (DeviceKind.CHARGER, "unlock"): UnlockCommand,
    (DeviceKind.CHARGER, "trigger"): TriggerCommand,
    (DeviceKind.CHARGER, "get_schedule"): GetScheduleCommand,
    (DeviceKind.CHARGER, "get_config"): GetConfigCommand,
    (DeviceKind.CHARGER, "set_config"): SetConfigCommand,
    (DeviceKind.CHARGER, "report"): ReportCommand,
    (DeviceKind.CHARGER, "local_list"): LocalListCommand,
    (DeviceKind.CHARGER, "clear_cache"): ClearCacheCommand,
    (DeviceKind.CHARGER, "update_firmware"): UpdateFirmwareCommand,
    (DeviceKind.CHARGER, "get_logs"): GetLogsCommand,
    (DeviceKind.CHARGER, "reserve"): ReserveCommand,
    (DeviceKind.CHARGER, "cancel_reservation"): CancelReservationCommand,
    (DeviceKind.CHARGER, "ocpp"): RawOcppCommand,
    (DeviceKind.STORAGE, "setpoint"): SetpointCommand,
    (DeviceKind.STORAGE, "mode"): ModeCommand,
    (DeviceKind.SITE, "grid_limit"): GridLimitCommand,
    (DeviceKind.SITE, "power_target"): PowerTargetCommand,
    (DeviceKind.SITE, "schedule"): ScheduleCommand,
    (DeviceKind.SITE, "tags"): TagsCommand,
}
"""Every command the gateway knows, by (target, name). Documentation is generated from this."""
