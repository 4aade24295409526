"""The storage capability: what a site controller or a command handler calls to move a battery.

`StorageControl` holds one battery's mode and setpoint. A setpoint is clamped (configured
limits, device ratings, SoC window), written, read back, and then held: the poll loop
rewrites it faster than the device's own reversion timer (a third of `revert_timeout_s`)
and re-clamps it as the SoC moves. Setpoints from MQTT are leases: when one lapses
(`lease_expired`, `mqtt_lost`) the battery goes to `fallback_power_w` and the retained
state says why.

Modes: `manual` takes setpoints from the control centre or the web page; `auto` hands the
battery to the site controller (`CommandSource.CONTROLLER`) or, until it writes, to the
device's own logic; `idle` holds 0 W. A setpoint with a TTL is a lease whoever sent it: the
command router grants it and the lease table expires it (foundation); this class only
applies it, declares what it holds (`LeaseTerms.hold`) and withdraws it (`withdraw`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from drivers.modbus.device import ModbusDevice
from drivers.modbus.errors import NotAccepted, NoWritableSetpoint, StorageOffline
from drivers.modbus.setpoint import ClampResult, PowerLimits, clamp_power_w
from drivers.modbus.sunspec.alarms import alarm_names
from gateway.foundation.clock import Clock
from gateway.foundation.commands.leasing import LeaseTerms
from gateway.foundation.config import ModbusDeviceConfig
from gateway.foundation.model import (
    CommandSource,
    DeviceKind,
    SetpointState,
    StorageMode,
    StorageState,
)

__all__ = ["SetpointOutcome", "StorageControl"]


@dataclass(frozen=True, slots=True)
class SetpointOutcome:
    requested_w: float
    applied_w: float
    clamped: bool
    reason: str | None
    expires_at: float | None = None
    """Wall-clock end of the setpoint's lease (None: no TTL)."""


@dataclass(frozen=True, slots=True)
class _Held:
    power_w: float
    """Requested (before clamping): re-clamped as the SoC moves."""
    source: str
    """A `CommandSource`, or `mode` (idle) and `fallback` (a lapsed lease)."""
    expires_at: float | None


class StorageControl:
    def __init__(self, device: ModbusDevice, config: ModbusDeviceConfig, clock: Clock) -> None:
        self.device = device
        self.config = config
        self.clock = clock
        self.mode: StorageMode = config.initial_mode
        self.reason: str | None = None
        self.alarms: tuple[str, ...] = ()
        self._held: _Held | None = None
        self._applied_w: float | None = None
        self._clamped_w: float | None = None
        self._written_at = float("-inf")
        self._written_session = 0
        self._lease_key = (DeviceKind.STORAGE, config.id)
        device.on_poll = self.refresh
        device.on_state = self._connection_changed

    # -- capability interface (units in the names) ----------------------------------------

    def power_w(self) -> float | None:
        """Measured battery power, load convention (positive charging)."""
        value = self.device.values.get("power_w")
        return float(value) if isinstance(value, int | float) else None

    def soc_pct(self) -> float | None:
        value = self.device.values.get("soc_pct")
        return float(value) if isinstance(value, int | float) and 0 <= value <= 100 else None

    @property
    def connected(self) -> bool:
        return self.device.connected

    @property
    def limits(self) -> PowerLimits:
        """Configured limits tightened by the device's own ratings, with the SoC window."""
        cfg = self.config
        configured = PowerLimits(
            cfg.max_charge_w, cfg.max_discharge_w, cfg.soc_min_pct, cfg.soc_max_pct
        )
        dev_charge = self.device.values.get("max_charge_w")
        dev_discharge = self.device.values.get("max_discharge_w")
        return configured.tighten(
            float(dev_charge) if isinstance(dev_charge, int | float) and dev_charge > 0 else None,
            float(dev_discharge)
            if isinstance(dev_discharge, int | float) and dev_discharge > 0
            else None,
        )

    @property
    def setpoint_w(self) -> float | None:
        """The power the device was last told to hold (after clamping)."""
        return self._applied_w

    async def set_power_w(
        self,
        power_w: float,
        *,
        source: CommandSource = CommandSource.CONTROLLER,
        lease: LeaseTerms | None = None,
    ) -> SetpointOutcome:
        """Clamp, write, verify and hold; under `lease` (the command's), withdrawn when it lapses.

        Raises NotAccepted, LinkError, ExceptionReply, VerifyError.
        """
        source = CommandSource(source)  # a plain "controller" from a caller counts the same
        wanted: StorageMode = "auto" if source is CommandSource.CONTROLLER else "manual"
        if self.mode != wanted:
            raise NotAccepted(
                f"storage {self.config.id} is in mode {self.mode!r}; "
                f"{source} setpoints need mode {wanted!r}"
            )
        outcome = await self._hold(_Held(power_w, source, None))
        expires_at = None
        if lease is not None:
            lease.hold(self._lease_key, self.withdraw)
            expires_at = lease.expires_at
        if self._held is not None:
            self._held = replace(self._held, expires_at=expires_at)
        self.reason = None
        self.publish_state()
        return replace(outcome, expires_at=expires_at)

    async def set_mode(self, mode: StorageMode, lease: LeaseTerms | None = None) -> None:
        """Change mode; a held setpoint's lease ends with it (`lease`: the command's)."""
        if self.device.profile is None or not self.device.connected:
            raise StorageOffline(f"storage {self.config.id} is not connected")
        control = self.device.profile.control
        if control is None:
            raise NoWritableSetpoint(f"storage {self.config.id} has no writable setpoint")
        if lease is not None:
            lease.end(self._lease_key)
        if mode == "idle":
            await self._hold(_Held(0.0, "mode", None))
        elif mode == "auto":
            await self.device.apply(control.plan_release(self.device.image))
            self._held, self._applied_w, self._clamped_w = None, None, None
        self.mode = mode
        self.reason = None
        self.publish_state()

    # -- holding and refreshing -----------------------------------------------------------

    def _clamp(self, power_w: float) -> ClampResult:
        return clamp_power_w(power_w, self.limits, self.soc_pct())

    async def _hold(self, held: _Held) -> SetpointOutcome:
        profile = self.device.profile
        if profile is None or not self.device.connected:
            raise StorageOffline(f"storage {self.config.id} is not connected")
        if profile.control is None:
            raise NoWritableSetpoint(
                f"storage {self.config.id} has no writable setpoint ({profile.source})"
            )
        clamp = self._clamp(held.power_w)
        fallback = self._clamp(self.config.fallback_power_w).applied_w
        plan = profile.control.plan_setpoint(
            clamp.applied_w,
            revert_s=self.config.revert_timeout_s,
            fallback_w=fallback,
            image=self.device.image,
        )
        await self.device.apply(plan)
        self._held, self._applied_w, self._clamped_w = held, plan.applied_power_w, clamp.applied_w
        self._written_at = self.clock.monotonic()
        self._written_session = self.device.sessions
        self.device.log.info(
            "storage_setpoint_written",
            requested_w=held.power_w,
            applied_w=plan.applied_power_w,
            source=held.source,
            clamped=clamp.clamped,
        )
        clamped = clamp.clamped or plan.applied_power_w != held.power_w
        reason = clamp.reason
        if reason is None and clamped:
            reason = "rounded to the device's setpoint resolution"
        return SetpointOutcome(held.power_w, plan.applied_power_w, clamped, reason)

    def _refresh_interval_s(self) -> float:
        revert = self.config.revert_timeout_s
        return revert / 3.0 if revert > 0 else 30.0

    async def refresh(self) -> None:
        """After each poll: rewrite before the device's timer runs out, or when the SoC moved."""
        alarms = alarm_names(self.device.values)
        if alarms != self.alarms:
            self.device.log.warning("storage_alarms_changed", alarms=list(alarms))
            self.alarms = alarms
            self.publish_state()
        held = self._held
        if held is None:
            return
        # A new connection may follow a reboot too short to show the device offline.
        reconnected = self._written_session != self.device.sessions
        due = reconnected or (
            self.clock.monotonic() - self._written_at >= self._refresh_interval_s()
        )
        moved = self._clamp(held.power_w).applied_w != self._clamped_w
        if not (due or moved):
            return
        try:
            await self._hold(held)
        except Exception as exc:  # logged; the next poll tries again
            self.device.log.warning("storage_setpoint_refresh_failed", error=str(exc))
        if moved:
            self.publish_state()

    async def withdraw(self, reason: str) -> None:
        """A lease lapsed: go to the configured fallback and say why."""
        self.device.log.warning(
            "storage_setpoint_lapsed", reason=reason, fallback_w=self.config.fallback_power_w
        )
        self.reason = reason
        self._held = _Held(self.config.fallback_power_w, "fallback", None)
        try:
            await self._hold(self._held)
        except Exception as exc:  # keep holding: refresh retries at the next poll
            self.device.log.warning("storage_fallback_failed", error=str(exc))
        self.reason = reason
        self.publish_state()

    # -- state ----------------------------------------------------------------------------

    def _connection_changed(self) -> None:
        if self.device.connected:
            self._written_at = float("-inf")  # it may have rebooted: rewrite at the next poll
        self.publish_state()

    def state(self) -> StorageState:
        held = self._held
        setpoint = None
        if held is not None and self._applied_w is not None:
            expires = (
                datetime.fromtimestamp(held.expires_at, UTC)
                if held.expires_at is not None
                else None
            )
            setpoint = SetpointState(self._applied_w, expires, held.source)
        limits = self.limits
        return StorageState(
            device_id=self.device.device_id,
            connected=self.device.connected,
            mode=self.mode,
            setpoint=setpoint,
            max_charge_w=limits.max_charge_w,
            max_discharge_w=limits.max_discharge_w,
            soc_min_pct=limits.soc_min_pct,
            soc_max_pct=limits.soc_max_pct,
            fallback_power_w=self.config.fallback_power_w,
            alarms=self.alarms,
            identity=self.device.identity or None,
            reason=self.reason if self.device.connected else (self.reason or "device_unreachable"),
        )

    def publish_state(self) -> None:
        self.device.record(self.state())
