"""What a charger's config says about its electrics, and ClearChargingProfile payloads (pure).

Building the profile a `limit` sends is profile_plan.py; here is clearing: by the gateway's own
profile id (a `limit` of null, optionally per EVSE) or by criteria (purpose, EVSE, stack level:
1.6 §5.5 ClearChargingProfile fields, 2.0.1 K10 `chargingProfileCriteria`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from gateway.foundation.model.versions import OcppVersion

__all__ = ["ChargerRating", "clear_by_criteria", "clear_by_id"]


@dataclass(frozen=True, slots=True)
class ChargerRating:
    """What the config says about a charger's electrics (ChargerConfig fields)."""

    max_power_w: float
    phases: int
    voltage_v: float
    rate_unit: Literal["W", "A"] | None
    bidirectional: bool


def clear_by_id(profile_id: int, version: OcppVersion) -> dict[str, Any]:
    """ClearChargingProfile for exactly one profile (the gateway's own)."""
    if version == OcppVersion.V16:
        return {"id": profile_id}
    return {"chargingProfileId": profile_id}


def clear_by_criteria(
    purpose_name: str | None, evse: int | None, stack_level: int | None, version: OcppVersion
) -> dict[str, Any]:
    """ClearChargingProfile for every profile matching all the given criteria."""
    evse_key = "connectorId" if version == OcppVersion.V16 else "evseId"
    given = {
        evse_key: evse,
        "chargingProfilePurpose": purpose_name,
        "stackLevel": stack_level,
    }
    criteria = {key: value for key, value in given.items() if value is not None}
    return criteria if version == OcppVersion.V16 else {"chargingProfileCriteria": criteria}
