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

from drivers.ocpp.core.profile_plan import PLAIN_STACK_LEVEL, ProfilePlan
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

_APPLIES = {True: ("charger_max", "tx_default"), False: ("tx_default", "tx")}
"""Explicit purposes that limit EVSE 0 (True) or one EVSE (False)."""
_PLAIN_PURPOSE = {True: "charger_max", False: "tx_default"}


def _lower(explicit: ChargerLimit, plain: ChargerLimit) -> bool:
    """Whether an explicit one-value limit (both units known) is below a plain one."""
    if plain.power_w is not None:
        return explicit.power_w is not None and explicit.power_w < plain.power_w
    return (
        plain.current_a is not None
        and explicit.current_a is not None
        and explicit.current_a < plain.current_a
    )


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
    """Per EVSE, the lowest of the sources' plain limits (the profile the charger was sent);
    `state()` shows an explicit one-value profile instead where it is lower."""
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

    def _limit_in_force(self) -> dict[int, ChargerLimit]:
        """Per EVSE, what holds: the sources' combined cap, or an explicit one-value profile
        that applies there and is lower (explicit profiles are never sent above the combined
        cap; profile_limits.py). One under the combined cap's own profile (same purpose, lower
        stack level) does not apply."""
        shown = dict(self.in_force)
        for (evse, purpose), lim in sorted(self.profiles.items()):
            if lim.power_w is None or purpose not in _APPLIES[evse == 0]:
                continue
            plain = shown.get(evse)
            under = (
                purpose == _PLAIN_PURPOSE[evse == 0] and (lim.stack_level or 0) < PLAIN_STACK_LEVEL
            )
            if plain is not None and under:
                continue
            if plain is None or _lower(lim, plain):
                shown[evse] = lim
        return shown

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
            limit_in_force=self._limit_in_force(),
            ev_needs=dict(self.ev_needs),
            last_seen=_dt(self.last_seen_s),
            reason=reason,
            provision=dict(self.provision) or None,
            firmware_update=self.firmware_update,
            reservations=tuple(self.reservations[k] for k in sorted(self.reservations)),
        )
