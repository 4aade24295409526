"""The OCPP versions the gateway and the simulators speak; the value is the version's name."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["OcppVersion"]


class OcppVersion(StrEnum):
    """OCPP-J versions. A StrEnum: payloads and logs show "1.6", "2.0.1", "2.1" unchanged."""

    V16 = "1.6"
    V201 = "2.0.1"
    V21 = "2.1"

    @property
    def subprotocol(self) -> str:
        """WebSocket sub-protocol name (OCPP-J 1.6 §3.1.2, OCPP 2.0.1 Part 4 §3.1)."""
        return f"ocpp{self.value}"
