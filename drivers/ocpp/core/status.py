"""Connector/EVSE status tables (OCPP 1.6 §7.7 ChargePointStatus, 2.0.1 ConnectorStatusEnumType).

The status strings are published as the charger sent them (they are the vocabulary operators
know); this module only folds several 2.x connectors of one EVSE into one EVSE status.
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.foundation.model import EvseState

__all__ = ["evse_state", "evse_state_v16"]

_PRIORITY = {"Faulted": 0, "Occupied": 1, "Reserved": 2, "Unavailable": 3, "Available": 4}
"""2.x: an EVSE is as busy as its busiest connector (a faulted connector shows first)."""


def evse_state_v16(status: str, error_code: str | None) -> EvseState:
    """1.6 connectors are EVSEs; `NoError` means no error code."""
    return EvseState(status, None if error_code in (None, "NoError") else error_code)


def evse_state(connectors: Mapping[int, str]) -> EvseState:
    """2.x: the EVSE status from its connectors' statuses."""
    status = min(connectors.values(), key=lambda s: _PRIORITY.get(s, 5))
    return EvseState(status, None, dict(connectors) if len(connectors) > 1 else None)
