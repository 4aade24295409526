"""The site controller's I/O shell: read the twins, run the planner, send commands, publish.

Commands go through the same router as the control centre's (source `controller`), so
the drivers clamp, verify and report them exactly the same way; the OCPP driver keeps the
controller's share apart from the control centre's cap and applies the lower. Charger shares
have no TTL (a charger keeps its profile if the gateway dies, which errs on the safe side);
battery setpoints carry one and are renewed every tick, so a dead controller leaves no
battery discharging. Without a grid reading for three meter polls the fail-safe applies at
the next tick, and `P/site/event` says so.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, TypeVar

import structlog

from gateway.foundation.clock import Clock
from gateway.foundation.commands.router import CommandRouter
from gateway.foundation.commands.schemas import LimitCommand, SetpointCommand
from gateway.foundation.config import ChargerConfig, Config
from gateway.foundation.metrics import CONTROLLER_IMPORT_W, CONTROLLER_LIMIT_W
from gateway.foundation.model import (
    CommandRequest,
    CommandSource,
    CommandStatus,
    DeviceKind,
    MeterTelemetry,
    SiteEvent,
    SiteTelemetry,
)
from gateway.recorder import OutboxRecorder
from gateway.site.dispatch import InForce, SiteDispatch
from gateway.site.flexibility import flexibility
from gateway.site.inputs import ChargerInput, SiteInputs, SitePlan
from gateway.site.planner import plan
from gateway.site.readings import SiteReadings, phase_currents_a

__all__ = ["SiteController"]

log = structlog.get_logger("gateway.site")

_SOURCE = CommandSource.CONTROLLER
_SLICE_S = 0.002
"""Longest stretch of a tick's charger reading before other work gets the event loop (a
count of chargers per slice took 15-60 ms on a busy machine: the loop's worst stalls)."""
_PAUSE_S = 0.002
"""The loop's time between two slices: a command takes several turns of the loop (charger
answer, store, result), and with no pause each of its turns waited for a whole slice."""
_PLAN_IN_LOOP_BELOW = 200
"""Chargers below which a plan takes under a couple of milliseconds: no thread hop."""
_T = TypeVar("_T")


class SiteController:
    def __init__(
        self,
        config: Config,
        recorder: OutboxRecorder,
        router: CommandRouter,
        clock: Clock,
    ) -> None:
        self._config = config
        self._recorder = recorder
        self._router = router
        self._clock = clock
        self._interval = config.site.controller_interval_s
        self.dispatch = SiteDispatch(config, recorder, router, clock)
        self._readings = SiteReadings(config, recorder)
        self._shares: dict[str, float] = {}
        """The controller's share per charger (none: not limited by the controller)."""
        self._known: set[str] = set()
        self._known_of: list[ChargerConfig] | None = None
        self._changed_at: dict[str, float] = {}
        self._turn_at: dict[str, float] = {}
        self._setpoints: dict[str, float] = {}
        self._planner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="site-plan")
        self._meter_lost = False
        self._grid_seen_at = -1e9
        self._started_at = clock.monotonic()
        recorder.subscribe(self._on_record)

    @property
    def has_work(self) -> bool:
        """Nothing to total or control on a site without devices (tests, a bare broker check)."""
        cfg = self._config
        return bool(
            cfg.ocpp.chargers
            or cfg.ocpp.allow_unknown_chargers
            or cfg.modbus.devices
            or cfg.site.grid_import_limit_w
            or self.dispatch.has_work
        )

    @property
    def limits(self) -> InForce:
        return self.dispatch.resolve()

    def _on_record(self, record: Any) -> None:
        if not isinstance(record, MeterTelemetry):  # every charger sample passes here
            return
        if record.device_id == self._config.grid_meter_id and record.power_w is not None:
            self._grid_seen_at = self._clock.monotonic()

    async def run(self) -> None:
        while True:
            await self.tick()
            await self._clock.sleep(self._interval)

    def stale_after_s(self) -> float:
        """Three meter polls: the fail-safe applies within these plus one controller tick."""
        return 3 * self._poll_interval()

    def _poll_interval(self) -> float:
        meter = next(
            (d for d in self._config.modbus.devices if d.id == self._config.grid_meter_id), None
        )
        return meter.poll_interval_s if meter else self._interval

    async def tick(self) -> SitePlan:
        now = self._clock.monotonic()
        in_force = self.dispatch.resolve()
        grid = self._readings.grid(self.stale_after_s(), self._grid_seen_at, now)
        inputs = await self._inputs(in_force, grid, now)
        controlling = (
            in_force.import_w is not None
            or in_force.target_w is not None
            or (inputs.import_limit_a is not None and inputs.grid_current_a is not None)
        )
        decided = SitePlan()
        if controlling and grid is None:
            starting = now - self._started_at < self.stale_after_s()
            if not starting:
                self._grid_lost()
                decided = await self._beside_loop(inputs, plan, inputs)
        elif controlling:
            self._grid_back()
            decided = await self._beside_loop(inputs, plan, inputs)
        if in_force.import_w is not None:
            CONTROLLER_LIMIT_W.set(in_force.import_w)
        if grid is not None and grid.power_w is not None:
            CONTROLLER_IMPORT_W.set(grid.power_w)
        for decision in decided.reasons:
            log.info(
                "controller_decision",
                device_id=decision.device_id,
                power_w=decision.value_w,
                reason=decision.reason,
                target_w=decided.target_w,
            )
        await self._apply(decided, now)
        await self._publish(inputs, in_force, decided)
        return decided

    async def _beside_loop(self, inputs: SiteInputs, work: Callable[..., _T], *args: Any) -> _T:
        """Planning thousands of chargers takes tens of milliseconds in one piece (so does
        their flexibility): in a thread of its own (the planner reads only frozen inputs) the
        event loop keeps serving beside it, in turns of the GIL. A small site plans in the
        loop."""
        if len(inputs.chargers) < _PLAN_IN_LOOP_BELOW:
            return work(*args)
        return await asyncio.get_running_loop().run_in_executor(self._planner, work, *args)

    async def _inputs(
        self, in_force: InForce, grid: MeterTelemetry | None, now: float
    ) -> SiteInputs:
        site = self._config.site
        chargers = await self._with_shares(self._readings.charger_inputs(), now)
        return SiteInputs(
            grid_power_w=grid.power_w if grid is not None else None,
            import_limit_w=in_force.import_w,
            export_limit_w=in_force.export_w,
            target_w=in_force.target_w,
            grid_current_a=phase_currents_a(grid) if grid is not None else None,
            import_limit_a=site.grid_import_limit_a,
            margin_w=site.controller_margin_w,
            margin_a=site.controller_margin_a,
            min_change_interval_s=site.min_change_interval_s,
            turn_s=site.pause_turn_s,
            failsafe_charger_power_w=site.failsafe_charger_power_w,
            chargers=chargers,
            storage=tuple(self._readings.storage(self._setpoints, auto_only=True)),
        )

    async def _with_shares(
        self, derived: list[ChargerInput], now: float
    ) -> tuple[ChargerInput, ...]:
        """The chargers as their twins show them, with the controller's own share and timing
        where it has any: work in proportion to the chargers it controls, not to all of them."""
        online = self._readings.chargers()
        if online is not self._known_of:
            for cfg in online:
                if cfg.id not in self._known:  # first seen: its share after a restart
                    self._known.add(cfg.id)
                    share = self._readings.stored_share(cfg.id)
                    if share is not None:
                        self._shares[cfg.id] = share
            self._known_of = online
        own = self._shares.keys() | self._changed_at.keys() | self._turn_at.keys()
        if not own:
            return tuple(derived)
        index = self._readings.index  # positions in `derived`
        chargers = list(derived)
        slice_end = time.perf_counter() + _SLICE_S
        for n, charger_id in enumerate(own):
            at = index.get(charger_id)
            if at is None:
                continue  # offline
            if n % 64 == 63 and time.perf_counter() > slice_end:
                # Thousands of shares: other work gets the event loop between slices.
                await asyncio.sleep(_PAUSE_S)
                slice_end = time.perf_counter() + _SLICE_S
            chargers[at] = replace(
                chargers[at],
                share_w=self._shares.get(charger_id),
                since_change_s=now - self._changed_at.get(charger_id, -math.inf),
                since_turn_s=now - self._turn_at.get(charger_id, -math.inf),
            )
        return tuple(chargers)

    def _grid_lost(self) -> None:
        if self._meter_lost:
            return
        self._meter_lost = True
        meter = self._config.grid_meter_id
        log.warning(
            "controller_no_grid_reading",
            meter=meter,
            detail="fail-safe: chargers to the fail-safe power, batteries to 0 W",
        )
        self._recorder.record(
            SiteEvent(
                "grid_meter_lost",
                {
                    "meter": meter,
                    "failsafe_charger_power_w": self._config.site.failsafe_charger_power_w,
                },
            )
        )

    def _grid_back(self) -> None:
        if not self._meter_lost:
            return
        self._meter_lost = False
        log.info("controller_grid_reading_back", meter=self._config.grid_meter_id)
        self._recorder.record(SiteEvent("grid_meter_back", {"meter": self._config.grid_meter_id}))

    async def _apply(self, decided: SitePlan, now: float) -> None:
        """Batteries first (they cover a peak without slowing anyone), then chargers."""
        setpoints = {
            **{k: v for k, v in self._setpoints.items() if v},
            **decided.storage_setpoints_w,
        }
        ttl = max(30.0, 10 * self._interval)
        for device_id, power in setpoints.items():  # renewed every tick while non-zero
            args = SetpointCommand(power_w=power, ttl_s=ttl)
            payload = {"power_w": power, "ttl_s": ttl}
            result = await self._send(DeviceKind.STORAGE, device_id, "setpoint", args, payload)
            if result is not None:
                applied = result.get("applied_power_w", power)
                self._setpoints[device_id] = applied if isinstance(applied, int | float) else power
        for charger_id, share in decided.charger_limits_w.items():
            limit_args = LimitCommand(power_w=share)
            sent = await self._send(
                DeviceKind.CHARGER, charger_id, "limit", limit_args, {"power_w": share}
            )
            if sent is None:
                continue
            before = self._shares.get(charger_id)
            if share is None:
                self._shares.pop(charger_id, None)
            else:
                self._shares[charger_id] = share
            self._changed_at[charger_id] = now
            if (before == 0) != (share == 0):
                self._turn_at[charger_id] = now

    async def _send(
        self, target: DeviceKind, device_id: str, name: str, args: Any, payload: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The command's result detail when it was applied, else None (logged)."""
        request = CommandRequest(target, device_id, name, None, payload, source=_SOURCE)
        if not self._router.handles(target, name):
            return None
        result = await self._router.dispatch(request, args)
        if result.status is not CommandStatus.ACCEPTED:
            log.warning(
                "controller_command_not_applied",
                device_id=device_id,
                command=name,
                status=result.status.value,
                reason=result.reason,
            )
            return None
        return dict(result.detail)

    async def _publish(self, inputs: SiteInputs, in_force: InForce, decided: SitePlan) -> None:
        chargers_w = sum(c.power_w for c in inputs.chargers)
        storage = self._readings.storage(self._setpoints, auto_only=False)
        controlled = bool(decided.target_w is not None or decided.failsafe or self._shares)
        self._recorder.record(
            SiteTelemetry(
                chargers_power_w=round(chargers_w, 1),
                storage_power_w=round(sum(s.power_w for s in storage), 1),
                grid_power_w=inputs.grid_power_w,
                import_limit_w=in_force.import_w,
                export_limit_w=in_force.export_w,
                limit_source=in_force.limit_source,
                target_w=decided.target_w,
                target_source=(in_force.target_source or "limit")
                if decided.target_w is not None
                else None,
                import_limit_a=inputs.import_limit_a,
                phase_current_a=inputs.grid_current_a,
                charger_shares_w={
                    **dict.fromkeys(c.charger_id for c in inputs.chargers),
                    **self._shares,
                }
                if controlled
                else None,
                storage_setpoints_w={
                    s.device_id: self._setpoints.get(s.device_id, 0.0) for s in inputs.storage
                }
                or None,
                failsafe=True if decided.failsafe else None,
            )
        )
        if inputs.grid_power_w is not None and (inputs.storage or inputs.chargers):
            offer = await self._beside_loop(inputs, flexibility, inputs, dict(self._setpoints))
            self._recorder.record(offer)
