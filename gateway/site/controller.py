"""The site controller's I/O shell: read the twins, run the planner, send commands, publish totals.

Commands go through the same router as the control centre's (source `site_controller`), so
the drivers clamp, verify and report them exactly the same way. Charger limits persist until
lifted (a charger keeps its profile if the gateway dies, which errs on the safe side); battery
setpoints carry a TTL and are renewed every tick, so a dead controller leaves no battery
discharging.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog

from gateway.foundation.clock import Clock
from gateway.foundation.commands.router import CommandRouter
from gateway.foundation.commands.schemas import GridLimitCommand, LimitCommand, SetpointCommand
from gateway.foundation.config import Config
from gateway.foundation.leases import LeaseTable
from gateway.foundation.metrics import CONTROLLER_IMPORT_W, CONTROLLER_LIMIT_W
from gateway.foundation.model import (
    ChargerTelemetry,
    CommandRequest,
    CommandResult,
    CommandStatus,
    DeviceKind,
    MeterTelemetry,
    SiteTelemetry,
    StorageState,
    StorageTelemetry,
)
from gateway.recorder import Recorder
from gateway.site.planner import ChargerInput, SiteInputs, SitePlan, StorageInput, plan

__all__ = ["SiteController"]

log = structlog.get_logger("gateway.site")

_SOURCE = "site_controller"


@dataclass
class _Limits:
    import_w: float | None
    export_w: float | None
    source: str | None


class SiteController:
    def __init__(
        self,
        config: Config,
        recorder: Recorder,
        router: CommandRouter,
        leases: LeaseTable,
        clock: Clock,
    ) -> None:
        self._config = config
        self._recorder = recorder
        self._router = router
        self._leases = leases
        self._clock = clock
        self._interval = config.site.controller_interval_s
        self._configured = _Limits(
            config.site.grid_import_limit_w, config.site.grid_export_limit_w, "config"
        )
        self.limits = self._configured
        self._charger_limits: dict[str, float] = {}
        self._setpoints: dict[str, float] = {}
        self._missing_grid_logged = False
        self._last_grid: MeterTelemetry | None = None
        self._grid_seen_at = -1e9
        self._started_at = clock.monotonic()
        recorder.subscribe(self._on_record)
        router.register(DeviceKind.SITE, "grid_limit", self._grid_limit_command)

    @property
    def has_work(self) -> bool:
        """Nothing to total or control on a site without devices (tests, a bare broker check)."""
        cfg = self._config
        return bool(cfg.ocpp.chargers or cfg.modbus.devices or cfg.site.grid_import_limit_w)

    def _on_record(self, record: Any) -> None:
        if isinstance(record, MeterTelemetry) and record.device_id == self._config.grid_meter_id:
            self._last_grid = record
            self._grid_seen_at = self._clock.monotonic()

    async def run(self) -> None:
        while True:
            await self.tick()
            await self._clock.sleep(self._interval)

    async def tick(self) -> SitePlan:
        grid = self._grid_power_w()
        chargers_w = sum(c.power_w for c in self._charger_inputs())
        storage_w = sum(s.power_w for s in self._storage_inputs(auto_only=False))
        self._recorder.record(
            SiteTelemetry(
                chargers_power_w=round(chargers_w, 1),
                storage_power_w=round(storage_w, 1),
                grid_power_w=grid,
                import_limit_w=self.limits.import_w,
                export_limit_w=self.limits.export_w,
                limit_source=self.limits.source if self.limits.import_w is not None else None,
            )
        )
        if self.limits.import_w is None:
            return SitePlan()
        CONTROLLER_LIMIT_W.set(self.limits.import_w)
        if grid is None:
            starting = self._clock.monotonic() - self._started_at < self._stale_after()
            if not self._missing_grid_logged and not starting:
                log.warning(
                    "controller_no_grid_reading",
                    meter=self._config.grid_meter_id,
                    detail="holding the last limits until the grid meter reports again",
                )
                self._missing_grid_logged = True
            return SitePlan()
        if self._missing_grid_logged:
            log.info("controller_grid_reading_back", meter=self._config.grid_meter_id)
            self._missing_grid_logged = False
        CONTROLLER_IMPORT_W.set(grid)
        decided = plan(
            SiteInputs(
                grid_power_w=grid,
                import_limit_w=self.limits.import_w,
                export_limit_w=self.limits.export_w,
                margin_w=self._config.site.controller_margin_w,
                chargers=tuple(self._charger_inputs()),
                storage=tuple(self._storage_inputs(auto_only=True)),
            )
        )
        await self._apply(decided)
        return decided

    def _stale_after(self) -> float:
        return 3 * max(self._interval, self._poll_interval())

    def _grid_power_w(self) -> float | None:
        if (
            self._last_grid is None
            or self._clock.monotonic() - self._grid_seen_at > self._stale_after()
        ):
            return None
        return self._last_grid.power_w

    def _poll_interval(self) -> float:
        meter = next(
            (d for d in self._config.modbus.devices if d.id == self._config.grid_meter_id), None
        )
        return meter.poll_interval_s if meter else self._interval

    def _charger_inputs(self) -> list[ChargerInput]:
        inputs = []
        for charger in self._config.ocpp.chargers:
            twin = self._recorder.twins.get(DeviceKind.CHARGER, charger.id)
            samples: list[ChargerTelemetry] = list(twin.telemetry.values()) if twin else []
            per_evse = [s for s in samples if s.evse > 0] or samples
            power = sum(s.power_w or 0.0 for s in per_evse)
            inputs.append(
                ChargerInput(
                    charger.id, power, charger.max_power_w, self._charger_limits.get(charger.id)
                )
            )
        return inputs

    def _storage_inputs(self, *, auto_only: bool) -> list[StorageInput]:
        inputs = []
        for device in self._config.modbus.devices:
            if device.kind != "storage":
                continue
            twin = self._recorder.twins.get(DeviceKind.STORAGE, device.id)
            state = twin.state if twin and isinstance(twin.state, StorageState) else None
            if auto_only and (state is None or state.mode != "auto" or not state.connected):
                continue
            telemetry = twin.telemetry.get(0) if twin else None
            power = telemetry.power_w if isinstance(telemetry, StorageTelemetry) else None
            soc = telemetry.soc_pct if isinstance(telemetry, StorageTelemetry) else None
            inputs.append(
                StorageInput(
                    device.id,
                    power or 0.0,
                    self._setpoints.get(device.id, 0.0),
                    device.max_charge_w or 0.0,
                    device.max_discharge_w or 0.0,
                    soc,
                    device.soc_min_pct,
                    device.soc_max_pct,
                )
            )
        return inputs

    async def _apply(self, decided: SitePlan) -> None:
        """Batteries first (they cover a peak without slowing anyone), then chargers."""
        setpoints = {
            **{k: v for k, v in self._setpoints.items() if v},
            **decided.storage_setpoints_w,
        }
        ttl = max(30.0, 10 * self._interval)
        for device_id, power in setpoints.items():  # renewed every tick while non-zero
            args = SetpointCommand(power_w=power, ttl_s=ttl)
            payload = {"power_w": power, "ttl_s": ttl}
            if await self._send(DeviceKind.STORAGE, device_id, "setpoint", args, payload):
                self._setpoints[device_id] = power
        for charger_id, limit in decided.charger_limits_w.items():
            limit_args = LimitCommand(power_w=limit)
            if await self._send(
                DeviceKind.CHARGER, charger_id, "limit", limit_args, {"power_w": limit}
            ):
                if limit is None:
                    self._charger_limits.pop(charger_id, None)
                else:
                    self._charger_limits[charger_id] = limit

    async def _send(
        self, target: DeviceKind, device_id: str, name: str, args: Any, payload: dict[str, Any]
    ) -> bool:
        request = CommandRequest(target, device_id, name, None, payload, source=_SOURCE)
        if not self._router.handles(target, name):
            return False
        result = await self._router.dispatch(request, args)
        if result.status is not CommandStatus.ACCEPTED:
            log.warning(
                "controller_command_not_applied",
                device_id=device_id,
                command=name,
                status=result.status.value,
                reason=result.reason,
            )
            return False
        return True

    async def _grid_limit_command(
        self, request: CommandRequest, args: GridLimitCommand
    ) -> CommandResult:
        self.limits = _Limits(args.import_w, args.export_w, request.source)
        lease = self._leases.grant(("site", "grid_limit"), args.ttl_s, self._restore_configured)
        log.info("grid_limit_set", import_w=args.import_w, export_w=args.export_w, ttl_s=args.ttl_s)
        detail: dict[str, Any] = {"import_w": args.import_w, "export_w": args.export_w}
        if lease.expires_at is not None:
            detail["expires_in_s"] = args.ttl_s
        return CommandResult.accepted(**detail)

    async def _restore_configured(self, reason: str) -> None:
        log.info("grid_limit_restored", reason=reason, import_w=self._configured.import_w)
        self.limits = self._configured
