"""A `limit` schedule of 10-minute periods planned as a charging profile, for the hold tests."""

from __future__ import annotations

from typing import Any

from drivers.ocpp.core.profile_plan import ProfilePlan, plan_profile
from drivers.ocpp.core.profiles import ChargerRating
from gateway.foundation.commands.schemas import LimitCommand
from gateway.foundation.model.versions import OcppVersion


def schedule_plan(
    values: list[float],
    given_as: str,
    unit: str | None,
    fields: dict[str, Any],
    *,
    version: OcppVersion = OcppVersion.V201,
    remote_start: bool = False,
) -> ProfilePlan:
    """`values` as `given_as` (power_w / current_a), one per period, on a 22 kW charger
    rated in `unit`; `fields` are the command's other fields (purpose, evse, kind)."""
    schedule = [{"offset_s": 600 * n, given_as: v} for n, v in enumerate(values)]
    args = LimitCommand.model_validate({"schedule": schedule, **fields})
    rating = ChargerRating(22_000, 3, 230.0, unit, False)  # type: ignore[arg-type]
    made = plan_profile(
        args, version=version, rating=rating, now_s=1e9, stack_level=2, remote_start=remote_start
    )
    assert isinstance(made, ProfilePlan), made
    return made
