"""What the gateway knows about one charger across its sessions -> the retained `state` record.

A charger's identity, EVSE statuses and limits outlive a websocket session (a reconnect must
not blank the state a control centre reads); the open transactions come from the durable
store, so they are right after a gateway restart too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from drivers.ocpp.core.profile_plan import ProfilePlan
from drivers.ocpp.core.transactions import StoredTransaction
from gateway.foundation.model import (
    ActiveTransaction,
    ChargerId,
    ChargerLimit,
    ChargerState,
    EvNeeds,
    EvseState,
)
from gateway.foundation.model.versions import OcppVersion

__all__ = ["ChargerBook"]


def _dt(epoch_s: float | None) -> datetime | None:
    return None if epoch_s is None else datetime.fromtimestamp(epoch_s, UTC)


@dataclass
class ChargerBook:
    charger_id: ChargerId
    connected: bool = False
    version: OcppVersion | None = None
    vendor: str | None = None
    model: str | None = None
    firmware: str | None = None
    serial: str | None = None
    evses: dict[int, EvseState] = field(default_factory=dict)
    connectors: dict[int, dict[int, str]] = field(default_factory=dict)
    """2.x: connector statuses per EVSE, folded into `evses`."""
    limits: dict[tuple[int, str], ChargerLimit] = field(default_factory=dict)
    """Each source's limit, by (evse, source)."""
    in_force: dict[int, ChargerLimit] = field(default_factory=dict)
    """Per EVSE, the lowest limit (the one the charger was sent)."""
    profiles: dict[tuple[int, str], ChargerLimit] = field(default_factory=dict)
    """Explicit charging profiles (a `limit` with a purpose, schedule, ...), by (evse, purpose)."""
    ev_needs: dict[int, EvNeeds] = field(default_factory=dict)
    """2.x: what the EV on each EVSE asked for (ISO 15118 charging needs and schedule)."""
    pending_start_profiles: dict[str, tuple[ProfilePlan, str]] = field(default_factory=dict)
    """TxProfiles of accepted remote starts without an EVSE, by id tag (upper case), with the
    source: shown once their transaction starts."""
    last_seen_s: float | None = None
    provision: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Outcome per provisioned key after the latest boot (provisioning.py)."""
    firmware_update: dict[str, Any] | None = None
    """The latest update_firmware request and its status (firmware.py)."""
    reservations: dict[int, dict[str, Any]] = field(default_factory=dict)
    """Reservations in force by id (reservations.py)."""
    log_request: int | None = None
    """The latest get_logs request (1.6 DiagnosticsStatusNotification carries no id)."""

    def identity_json(self) -> str:
        return json.dumps(
            {
                "version": self.version,
                "vendor": self.vendor,
                "model": self.model,
                "firmware": self.firmware,
                "serial": self.serial,
            },
            sort_keys=True,
        )

    def load_identity(self, identity_json: str | None) -> None:
        if not identity_json:
            return
        data = json.loads(identity_json)
        self.version = data.get("version")
        self.vendor = data.get("vendor")
        self.model = data.get("model")
        self.firmware = data.get("firmware")
        self.serial = data.get("serial")

    def state(
        self, transactions: list[StoredTransaction], reason: str | None = None
    ) -> ChargerState:
        return ChargerState(
            self.charger_id,
            self.connected,
            ocpp_version=self.version,
            vendor=self.vendor,
            model=self.model,
            firmware=self.firmware,
            serial=self.serial,
            evses=dict(self.evses),
            transactions=tuple(
                ActiveTransaction(
                    tx.transaction_id,
                    tx.evse,
                    tx.id_tag,
                    _dt(tx.started_at),
                    tx.meter_start_wh,
                )
                for tx in transactions
            ),
            limits=(
                *(self.limits[key] for key in sorted(self.limits)),
                *(self.profiles[key] for key in sorted(self.profiles)),
            ),
            limit_in_force=dict(self.in_force),
            ev_needs=dict(self.ev_needs),
            last_seen=_dt(self.last_seen_s),
            reason=reason,
            provision=dict(self.provision) or None,
            firmware_update=self.firmware_update,
            reservations=tuple(self.reservations[k] for k in sorted(self.reservations)),
        )
