"""What the control centre asks of the site: a grid limit, a power target, a time-of-use schedule.

Each tick the controller asks `resolve()` for the limit and target in force. The import limit
comes from a `grid_limit` command (a lease: it lapses with its TTL or when MQTT is lost), else
from the schedule window in force, else from the config. The target comes from a
`power_target` command (a lease, likewise), else from the schedule; the planner keeps it within
the limit. The schedule is stored and needs no broker: it is the control centre's plan for
when it cannot be reached.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog

from gateway.foundation.clock import Clock
from gateway.foundation.commands.leasing import LeaseTerms
from gateway.foundation.commands.router import CommandRouter
from gateway.foundation.commands.schemas import (
    GridLimitCommand,
    PowerTargetCommand,
    ScheduleCommand,
)
from gateway.foundation.config import Config
from gateway.foundation.model import CommandRequest, CommandResult, DeviceKind, SiteEvent
from gateway.recorder import OutboxRecorder
from gateway.site.schedule import ScheduleStore, next_change_s, window_at

__all__ = ["InForce", "SiteDispatch"]

log = structlog.get_logger("gateway.site")


@dataclass(frozen=True, slots=True)
class InForce:
    import_w: float | None
    export_w: float | None
    limit_source: str | None
    target_w: float | None
    target_source: str | None


@dataclass(frozen=True, slots=True)
class _Limit:
    import_w: float | None
    export_w: float | None


class SiteDispatch:
    def __init__(
        self,
        config: Config,
        recorder: OutboxRecorder,
        router: CommandRouter,
        clock: Clock,
    ) -> None:
        self._config = config
        self._recorder = recorder
        self._clock = clock
        self._commanded: _Limit | None = None
        self._target_w: float | None = None
        self._store = ScheduleStore(config.state_dir / "site_schedule.json")
        self.windows = self._store.load()
        if self.windows:
            log.info("site_schedule_loaded", windows=len(self.windows))
        router.register_leased(DeviceKind.SITE, "grid_limit", self._grid_limit)
        router.register_leased(DeviceKind.SITE, "power_target", self._power_target)
        router.register(DeviceKind.SITE, "schedule", self._schedule)

    def resolve(self) -> InForce:
        site = self._config.site
        window = window_at(self.windows, self._clock.time())
        import_w, export_w, source = site.grid_import_limit_w, site.grid_export_limit_w, "config"
        if window is not None and window.import_limit_w is not None:
            import_w, source = window.import_limit_w, "schedule"
        if self._commanded is not None:
            import_w, export_w, source = (
                self._commanded.import_w,
                self._commanded.export_w,
                "command",
            )
        target, target_source = None, None
        if window is not None and window.import_w is not None:
            target, target_source = window.import_w, "schedule"
        if self._target_w is not None:
            target, target_source = self._target_w, "power_target"
        return InForce(
            import_w, export_w, source if import_w is not None else None, target, target_source
        )

    @property
    def has_work(self) -> bool:
        return bool(self.windows) or self._commanded is not None or self._target_w is not None

    # -- commands -------------------------------------------------------------------------

    async def _grid_limit(
        self, request: CommandRequest, args: GridLimitCommand, lease: LeaseTerms
    ) -> CommandResult:
        self._commanded = _Limit(args.import_w, args.export_w)
        lease.hold(("site", "grid_limit"), self._grid_limit_lapsed)
        log.info("grid_limit_set", import_w=args.import_w, export_w=args.export_w, ttl_s=args.ttl_s)
        detail: dict[str, Any] = {"import_w": args.import_w, "export_w": args.export_w}
        if lease.expires_at is not None:
            detail["expires_in_s"] = args.ttl_s
        return CommandResult.accepted(**detail)

    async def _grid_limit_lapsed(self, reason: str) -> None:
        self._commanded = None
        log.info("grid_limit_restored", reason=reason, import_w=self.resolve().import_w)

    async def _power_target(
        self, request: CommandRequest, args: PowerTargetCommand, lease: LeaseTerms
    ) -> CommandResult:
        if args.import_w is None:
            lease.end(("site", "power_target"))
            await self._target_ended("cleared")
            return CommandResult.accepted(import_w=None)
        in_force = self.resolve()
        self._target_w = args.import_w
        lease.hold(("site", "power_target"), self._target_ended)
        log.info("power_target_set", import_w=args.import_w, ttl_s=args.ttl_s)
        self._recorder.record(
            SiteEvent("power_target_set", {"import_w": args.import_w, "ttl_s": args.ttl_s})
        )
        detail: dict[str, Any] = {"import_w": args.import_w, "expires_in_s": args.ttl_s}
        if in_force.import_w is not None and args.import_w > in_force.import_w:
            detail["held_to_w"] = in_force.import_w  # never past the limit in force
        return CommandResult.accepted(**detail)

    async def _target_ended(self, reason: str) -> None:
        if self._target_w is None:
            return
        log.info("power_target_ended", reason=reason, import_w=self._target_w)
        self._recorder.record(
            SiteEvent("power_target_ended", {"reason": reason, "import_w": self._target_w})
        )
        self._target_w = None

    async def _schedule(self, request: CommandRequest, args: ScheduleCommand) -> CommandResult:
        try:
            self._store.save(args.windows)
        except OSError as exc:
            log.error("site_schedule_not_saved", error=str(exc))
            return CommandResult.failed(f"schedule not stored ({exc}); the previous one holds")
        self.windows = list(args.windows)
        now = self._clock.time()
        log.info("site_schedule_set", windows=len(self.windows))
        return CommandResult.accepted(
            windows=len(self.windows),
            in_force=window_at(self.windows, now) is not None,
            next_change_in_s=next_change_s(self.windows, now),
        )
