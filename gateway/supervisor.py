"""Run the gateway's components in one TaskGroup; restart a crashed one with backoff.

A component is a named coroutine factory with an optional graceful `stop`. On SIGTERM/SIGINT
components stop in reverse order of registration, so producers (drivers) stop before the
MQTT link flushes the outbox and says `offline`.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog

from gateway.foundation.aio import cancel_and_wait
from gateway.foundation.backoff import backoff_delays
from gateway.foundation.clock import Clock, SystemClock
from gateway.sdnotify import SystemdNotifier

__all__ = ["Component", "Supervisor"]

log = structlog.get_logger("gateway.supervisor")

_HEALTHY_RUN_S = 60.0
"""A component that ran this long before crashing gets its backoff reset."""


@dataclass
class Component:
    name: str
    run: Callable[[], Awaitable[None]]
    stop: Callable[[], Awaitable[None]] | None = None
    stop_timeout_s: float = 10.0
    restarts: int = 0
    running: bool = False
    last_error: str | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)


class Supervisor:
    def __init__(
        self,
        *,
        clock: Clock | None = None,
        notifier: SystemdNotifier | None = None,
        restart_min_s: float = 1.0,
        restart_max_s: float = 60.0,
    ) -> None:
        self._clock = clock or SystemClock()
        self._notifier = notifier or SystemdNotifier()
        self._restart = (restart_min_s, restart_max_s)
        self.components: list[Component] = []
        self._stop = asyncio.Event()
        self._watchdog_checks: list[Callable[[], str | None]] = []
        self.watchdog_starved: str | None = None
        """Why the systemd watchdog is no longer fed (None while it is)."""

    def add(
        self,
        name: str,
        run: Callable[[], Awaitable[None]],
        *,
        stop: Callable[[], Awaitable[None]] | None = None,
        stop_timeout_s: float = 10.0,
    ) -> Component:
        component = Component(name, run, stop, stop_timeout_s)
        self.components.append(component)
        return component

    def add_watchdog_check(self, check: Callable[[], str | None]) -> None:
        """`check()` returns None while healthy, else a reason; while any check gives a reason
        the watchdog is not fed, so systemd kills and restarts the gateway (WatchdogSec)."""
        self._watchdog_checks.append(check)

    def request_stop(self) -> None:
        self._stop.set()

    async def run(self, *, install_signal_handlers: bool = True) -> None:
        loop = asyncio.get_running_loop()
        if install_signal_handlers:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self._on_signal, sig)
        try:
            async with asyncio.TaskGroup() as group:
                for component in self.components:
                    component.task = group.create_task(
                        self._keep_running(component), name=component.name
                    )
                if self._notifier.watchdog_interval_s:
                    watchdog = group.create_task(self._watchdog(), name="systemd-watchdog")
                else:
                    watchdog = None
                self._notifier.ready()
                log.info("gateway_started", components=[c.name for c in self.components])
                await self._stop.wait()
                self._notifier.stopping()
                log.info("gateway_stopping")
                await self._stop_all()
                if watchdog:
                    watchdog.cancel()
        finally:
            if install_signal_handlers:
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(sig)
        log.info("gateway_stopped")

    def _on_signal(self, sig: signal.Signals) -> None:
        log.info("signal_received", signal=sig.name)
        self._stop.set()

    async def _stop_all(self) -> None:
        for component in reversed(self.components):
            if component.stop is not None and component.running:
                try:
                    async with asyncio.timeout(component.stop_timeout_s):
                        await component.stop()
                except TimeoutError:
                    log.warning("component_stop_timeout", component=component.name)
                except Exception:
                    log.exception("component_stop_failed", component=component.name)
            if component.task is not None:
                outcome = (
                    await cancel_and_wait([component.task], give_up_s=component.stop_timeout_s)
                )[0]
                if isinstance(outcome, TimeoutError):
                    log.error("component_did_not_stop", component=component.name)

    async def _keep_running(self, component: Component) -> None:
        delays = backoff_delays(*self._restart)
        while not self._stop.is_set():
            started = self._clock.monotonic()
            component.running = True
            try:
                await component.run()
                if self._stop.is_set():
                    return
                component.last_error = "exited unexpectedly"
                log.error("component_exited", component=component.name)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                component.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("component_crashed", component=component.name)
            finally:
                component.running = False
            if self._clock.monotonic() - started > _HEALTHY_RUN_S:
                delays = backoff_delays(*self._restart)
            delay = next(delays)
            component.restarts += 1
            log.info("component_restarting", component=component.name, in_s=round(delay, 2))
            try:
                async with asyncio.timeout(delay):
                    await self._stop.wait()
            except TimeoutError:
                pass

    async def _watchdog(self) -> None:
        interval = self._notifier.watchdog_interval_s
        assert interval is not None
        while True:
            reason = next((r for r in (c() for c in self._watchdog_checks) if r), None)
            if reason is None:
                self._notifier.watchdog()
            elif self.watchdog_starved is None:
                log.error("watchdog_starved", reason=reason)
            self.watchdog_starved = reason
            await asyncio.sleep(interval)
