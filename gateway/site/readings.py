"""Turn the device twins into the planner's plain inputs (chargers, batteries, the grid).

Chargers are the configured ones plus any admitted through `allow_unknown_chargers` (they
appear as twins; their config is the defaults). A charger's maximum is its rating, or the
control centre's cap on the whole charger when that is lower, or the sum of the caps on the
EVSEs in use when every one of them is capped: the controller never plans past an operator's
cap (what a capped EVSE cannot take goes to the other chargers), and never lifts it (the OCPP
driver keeps the two apart).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from gateway.foundation.config import ChargerConfig, Config, ModbusDeviceConfig
from gateway.foundation.model import (
    ChargerState,
    ChargerTelemetry,
    CommandSource,
    DeviceKind,
    MeterTelemetry,
    StorageState,
    StorageTelemetry,
)
from gateway.foundation.model.versions import OcppVersion
from gateway.recorder import OutboxRecorder
from gateway.site.inputs import GRID_PHASES, ChargerInput, StorageInput
from gateway.twins import DeviceTwin

__all__ = ["CONTROLLER_SOURCE", "SiteReadings", "usable_capacity_wh"]

CONTROLLER_SOURCE = CommandSource.CONTROLLER.value
"""The `source` of the controller's share in `state.limits` (and of its battery setpoints)."""

_NOT_CAPS = frozenset({CONTROLLER_SOURCE, "rating"})


class SiteReadings:
    def __init__(self, config: Config, recorder: OutboxRecorder) -> None:
        self._config = config
        self._twins = recorder.twins
        self._configured = {c.id: c for c in config.ocpp.chargers}
        self._admitted: list[ChargerConfig] = []
        """Default configs of the chargers admitted as unknown, by id, built once each: a
        tick that built thousands of them held the event loop for tens of milliseconds."""
        self._online: list[ChargerConfig] = []
        self._online_at = -1
        """The chargers' membership version `_online` was built at."""
        self._derived: dict[str, tuple[int, ChargerConfig, ChargerInput]] = {}
        """Per charger, what its twin gave at a version: at thousands of chargers deriving
        every one each tick was most of the controller's time, and few change between ticks."""
        self._inputs: list[ChargerInput] = []
        self._inputs_of: list[ChargerConfig] | None = None
        self._inputs_at = -1
        self._index: dict[str, int] = {}

    def chargers(self) -> list[ChargerConfig]:
        """Connected chargers: configured ones, then those admitted as unknown (defaults).

        One that is offline draws nothing and cannot take a profile; it is planned again
        from the tick after it reconnects (it keeps the profile it had). The list is rebuilt
        only when a charger appears, connects or disconnects; callers must not change it."""
        version = self._twins.membership_version(DeviceKind.CHARGER)
        if version != self._online_at:
            twins = self._twins.of_kind(DeviceKind.CHARGER)
            online = {
                t.device_id
                for t in twins
                if isinstance(t.state, ChargerState) and t.state.connected
            }
            everyone = [*self._configured.values(), *self._admitted_configs(twins)]
            self._online = [c for c in everyone if c.id in online]
            self._online_at = version
        return self._online

    @property
    def index(self) -> dict[str, int]:
        """Each charger's position in the last `charger_inputs()` (a new dict when it moves)."""
        return self._index

    def charger_inputs(self) -> list[ChargerInput]:
        """Every connected charger as its twin shows it (no share of the controller's), in the
        order of `chargers()`: only those with a record since the last call are derived again.
        Callers must not change the list."""
        online = self.chargers()
        seen, now = self._inputs_at, self._twins.version
        if online is not self._inputs_of:
            self._inputs = [self.charger(cfg) for cfg in online]
            self._index = {cfg.id: i for i, cfg in enumerate(online)}
            self._inputs_of = online
        elif now != seen:
            changed = self._twins.updated_since(DeviceKind.CHARGER, seen)
            if changed:
                self._inputs = list(self._inputs)  # a tick may still hold the last one
                for twin in changed:
                    at = self._index.get(twin.device_id)
                    if at is not None:
                        self._inputs[at] = self.charger(online[at])
        self._inputs_at = now
        return self._inputs

    def _admitted_configs(self, twins: list[DeviceTwin]) -> list[ChargerConfig]:
        """Twins are never removed, so a new admitted charger shows as a longer list."""
        configured = self._configured
        ids = [t.device_id for t in twins if t.device_id not in configured]
        if len(ids) != len(self._admitted):
            known = {c.id: c for c in self._admitted}
            self._admitted = [known.get(i) or ChargerConfig(id=i) for i in sorted(ids)]
        return self._admitted

    def charger(self, cfg: ChargerConfig) -> ChargerInput:
        """The planner's view of one charger as its twin shows it (no share of the
        controller's: `SiteController` lays its own over), derived again only after a new
        record of it."""
        twin = self._twins.get(DeviceKind.CHARGER, cfg.id)
        version = twin.version if twin else -1
        known = self._derived.get(cfg.id)
        if known is not None and known[0] == version and known[1] is cfg:
            return known[2]
        derived = self._derive(cfg, twin)
        self._derived[cfg.id] = (version, cfg, derived)
        return derived

    def _derive(self, cfg: ChargerConfig, twin: DeviceTwin | None) -> ChargerInput:
        samples: list[ChargerTelemetry] = list(twin.telemetry.values()) if twin else []
        per_evse = [s for s in samples if s.evse > 0] or samples
        power = sum(s.power_w or 0.0 for s in per_evse)
        state = twin.state if twin and isinstance(twin.state, ChargerState) else None
        site = self._config.site
        v2g_w = 0.0
        socs = [s.soc_pct for s in per_evse if s.soc_pct is not None]
        v21 = state is not None and state.ocpp_version == OcppVersion.V21
        v2g_wh = None
        if site.v2g and cfg.bidirectional and v21 and socs and min(socs) > site.v2g_soc_min_pct:
            v2g_w = cfg.max_power_w
            v2g_wh = _v2g_energy_wh(state, {s.evse for s in per_evse if s.evse > 0})
        caps = _caps_w(cfg, state)
        in_use = {s.evse for s in per_evse if abs(s.power_w or 0.0) >= _IN_USE_W and s.evse > 0}
        in_use |= {tx.evse for tx in state.transactions} if state else set()
        return ChargerInput(
            cfg.id,
            power,
            min(cfg.max_power_w, caps.get(0, math.inf), _evses_w(caps, in_use, cfg.max_power_w)),
            None,
            drawing_phases(cfg, per_evse),
            cfg.voltage_v,
            cfg.min_current_a,
            cfg.priority,
            plugged=bool(state and state.transactions),
            v2g_w=v2g_w,
            v2g_energy_wh=v2g_wh,
        )

    def stored_share(self, charger_id: str) -> float | None:
        """The controller's share the charger's state shows (after a restart, say)."""
        twin = self._twins.get(DeviceKind.CHARGER, charger_id)
        state = twin.state if twin and isinstance(twin.state, ChargerState) else None
        for limit in state.limits if state else ():
            if limit.source == CONTROLLER_SOURCE and limit.evse == 0:
                return limit.power_w
        return None

    def storage(self, setpoints: Mapping[str, float], *, auto_only: bool) -> list[StorageInput]:
        inputs = []
        for device in self._config.modbus.devices:
            if device.kind != "storage":
                continue
            twin = self._twins.get(DeviceKind.STORAGE, device.id)
            state = twin.state if twin and isinstance(twin.state, StorageState) else None
            if auto_only and (state is None or state.mode != "auto" or not state.connected):
                continue
            telemetry = twin.telemetry.get(0) if twin else None
            reading = telemetry if isinstance(telemetry, StorageTelemetry) else None
            inputs.append(_storage_input(device, reading, setpoints.get(device.id, 0.0)))
        return inputs

    def grid(self, max_age_s: float, seen_at: float, now: float) -> MeterTelemetry | None:
        meter_id = self._config.grid_meter_id
        if meter_id is None or now - seen_at > max_age_s:
            return None
        twin = self._twins.get(DeviceKind.METER, meter_id)
        record = twin.telemetry.get(0) if twin else None
        if not isinstance(record, MeterTelemetry) or record.power_w is None:
            return None
        return record


def _v2g_energy_wh(state: ChargerState | None, evses: set[int]) -> float | None:
    """What the EVs on `evses` may still give, as they last reported it; None unless every
    one of them said."""
    needs = state.ev_needs if state else {}
    told = [needs[e].discharge_energy_wh if e in needs else None for e in evses]
    if not told or any(wh is None for wh in told):
        return None
    return sum(wh for wh in told if wh is not None)


_IN_USE_W = 100.0
"""An EVSE drawing this much is in use even without a transaction the gateway knows of."""


def _caps_w(cfg: ChargerConfig, state: ChargerState | None) -> dict[int, float]:
    """The lowest one-value cap per EVSE (0: the whole charger) from anyone but the controller,
    in W: the control centre's plain caps and its explicit one-value profiles."""
    caps: dict[int, float] = {}
    for limit in state.limits if state else ():
        if limit.source in _NOT_CAPS:
            continue
        if limit.power_w is not None:
            watts = max(0.0, limit.power_w)
        elif limit.current_a is not None:
            watts = max(0.0, limit.current_a) * cfg.voltage_v * cfg.phases
        else:
            continue  # a schedule: its periods change over time
        caps[limit.evse] = min(caps.get(limit.evse, math.inf), watts)
    return caps


def _evses_w(caps: Mapping[int, float], in_use: set[int], rating_w: float) -> float:
    """The most the EVSEs in use may draw together when each is capped (inf: one is not, or
    none is known to be in use)."""
    if not in_use or any(evse not in caps for evse in in_use):
        return math.inf
    return sum(min(caps[evse], rating_w) for evse in in_use)


_DRAWING_A = 1.0
"""A charger phase carrying less than this is not in use (an EV charging on fewer phases)."""


def drawing_phases(cfg: ChargerConfig, samples: list[ChargerTelemetry]) -> tuple[str, ...]:
    """The grid phases a charger draws from: its wiring, narrowed to the phases its meter shows
    current on (a single-phase EV on a three-phase charger loads one grid phase only)."""
    wired = cfg.wired_phases
    in_use = {
        name
        for s in samples
        for name, phase in (s.phases or {}).items()
        if phase.current_a is not None and abs(phase.current_a) >= _DRAWING_A
    }
    if not in_use:
        return wired
    drawing = tuple(
        grid for own, grid in zip(("L1", "L2", "L3"), wired, strict=False) if own in in_use
    )
    return drawing or wired


def phase_currents_a(record: MeterTelemetry) -> dict[str, float] | None:
    """Import current per phase, signed by the phase's power (meters report magnitudes)."""
    if not record.phases:
        return None
    out: dict[str, float] = {}
    for name in GRID_PHASES:
        phase = record.phases.get(name)
        if phase is None:
            return None
        if phase.current_a is not None:
            sign = -1.0 if phase.power_w is not None and phase.power_w < 0 else 1.0
            out[name] = sign * abs(phase.current_a)
        elif phase.power_w is not None and phase.voltage_v:
            out[name] = phase.power_w / phase.voltage_v
        else:
            return None
    return out


def _storage_input(
    device: ModbusDeviceConfig, reading: StorageTelemetry | None, setpoint_w: float
) -> StorageInput:
    return StorageInput(
        device.id,
        (reading.power_w if reading else None) or 0.0,
        setpoint_w,
        device.max_charge_w or 0.0,
        device.max_discharge_w or 0.0,
        reading.soc_pct if reading else None,
        device.soc_min_pct,
        device.soc_max_pct,
        usable_capacity_wh(device.capacity_wh, reading),
    )


def usable_capacity_wh(
    configured_wh: float | None, reading: StorageTelemetry | None
) -> float | None:
    """The battery's usable capacity: `capacity_wh` from the config, else the rating the device
    reports (SunSpec WHRtg) less its state of health; None when neither is known."""
    if configured_wh is not None:
        return configured_wh
    if reading is None or reading.capacity_wh is None or reading.capacity_wh <= 0:
        return None
    health = 1.0 if reading.soh_pct is None else min(max(reading.soh_pct, 0.0), 100.0) / 100
    return reading.capacity_wh * health
