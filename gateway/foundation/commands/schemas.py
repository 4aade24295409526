"""Command payloads: the public contract of `P/{target}/{id}/cmd/{name}`.

Every model forbids unknown fields (a typo such as `ttl` for `ttl_s` is rejected, not ignored).
The optional request `id` is taken off before validation and echoed in the result.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from gateway.foundation.model.ids import DeviceKind

__all__ = [
    "COMMAND_SCHEMAS",
    "AvailabilityCommand",
    "GridLimitCommand",
    "LimitCommand",
    "ModeCommand",
    "PowerTargetCommand",
    "ResetCommand",
    "ScheduleCommand",
    "ScheduleWindow",
    "SetpointCommand",
    "StartCommand",
    "StopCommand",
    "TriggerCommand",
    "UnlockCommand",
]

Ttl = Annotated[float, Field(gt=0, le=86_400, description="Seconds until the setpoint lapses")]
Evse = Annotated[
    int, Field(ge=0, le=1000, description="EVSE (OCPP 1.6: connector); 0 = whole charger")
]
Watts = Annotated[float, Field(ge=-10_000_000, le=10_000_000, allow_inf_nan=False)]


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LimitCommand(_Command):
    """Charging limit; negative power_w asks a bidirectional 2.1 charger to discharge (V2G)."""

    power_w: Watts | None = None
    current_a: Annotated[float, Field(ge=-10_000, le=10_000, allow_inf_nan=False)] | None = None
    evse: Evse | None = None
    ttl_s: Ttl | None = None

    @model_validator(mode="after")
    def _one_quantity(self) -> LimitCommand:
        if self.power_w is not None and self.current_a is not None:
            raise ValueError("give either power_w or current_a, not both")
        if "power_w" not in self.model_fields_set and "current_a" not in self.model_fields_set:
            raise ValueError(
                'power_w or current_a is required ({"power_w": null} clears the limit)'
            )
        return self

    @property
    def clears(self) -> bool:
        return self.power_w is None and self.current_a is None


class StartCommand(_Command):
    id_tag: Annotated[str, Field(min_length=1, max_length=36)]
    evse: Annotated[int, Field(ge=1, le=1000)] | None = None


class StopCommand(_Command):
    transaction_id: Annotated[str, Field(min_length=1, max_length=64)]


class AvailabilityCommand(_Command):
    operative: bool
    evse: Evse | None = None


class ResetCommand(_Command):
    type: Literal["soft", "hard"]


class UnlockCommand(_Command):
    evse: Annotated[int, Field(ge=1, le=1000)]


class TriggerCommand(_Command):
    message: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9]+$")]
    evse: Annotated[int, Field(ge=1, le=1000)] | None = None


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

    import_w: Watts | None
    ttl_s: Ttl


class ScheduleWindow(_Command):
    """From `start` to `end` (RFC 3339 with an offset), an import limit and/or a power target;
    `repeat: daily` repeats the window every 24 h from `start`."""

    start: AwareDatetime
    end: AwareDatetime
    repeat: Literal["none", "daily"] = "none"
    import_limit_w: Annotated[float, Field(gt=0, le=100_000_000, allow_inf_nan=False)] | None = None
    import_w: Watts | None = None

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

    windows: Annotated[list[ScheduleWindow], Field(max_length=200)]


COMMAND_SCHEMAS: dict[tuple[DeviceKind, str], type[BaseModel]] = {
    (DeviceKind.CHARGER, "limit"): LimitCommand,
    (DeviceKind.CHARGER, "start"): StartCommand,
    (DeviceKind.CHARGER, "stop"): StopCommand,
    (DeviceKind.CHARGER, "availability"): AvailabilityCommand,
    (DeviceKind.CHARGER, "reset"): ResetCommand,
    (DeviceKind.CHARGER, "unlock"): UnlockCommand,
    (DeviceKind.CHARGER, "trigger"): TriggerCommand,
    (DeviceKind.STORAGE, "setpoint"): SetpointCommand,
    (DeviceKind.STORAGE, "mode"): ModeCommand,
    (DeviceKind.SITE, "grid_limit"): GridLimitCommand,
    (DeviceKind.SITE, "power_target"): PowerTargetCommand,
    (DeviceKind.SITE, "schedule"): ScheduleCommand,
}
"""Every command the gateway knows, by (target, name). Documentation is generated from this."""
