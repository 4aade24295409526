"""Wire the gateway together from a config: outbox, recorder, commands, MQTT, drivers."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog

from drivers.registry import build_drivers
from gateway import __version__
from gateway.accept_errors import install_accept_error_handler
from gateway.foundation.clock import Clock, SystemClock, format_ts
from gateway.foundation.commands.router import CommandRouter
from gateway.foundation.config import Config
from gateway.foundation.driver_api import Driver, DriverContext
from gateway.foundation.leases import LeaseTable
from gateway.foundation.metrics import (
    OUTBOX_BYTES,
    OUTBOX_DEAD_LETTERS,
    OUTBOX_DEPTH,
    OUTBOX_DROPPED,
    OUTBOX_FAILING,
    OUTBOX_REFUSED,
    OUTBOX_TRUNCATED,
    OUTBOX_WITHDRAWN,
)
from gateway.foundation.throttled_log import ThrottledLog
from gateway.foundation.uploads import UploadLinks
from gateway.gc_tuning import tune_gc_after_startup
from gateway.homeassistant import DiscoveryPublisher
from gateway.http import HealthReporter, HealthSources, HttpServer, add_ops_routes
from gateway.http.files import add_file_routes
from gateway.loop_lag import watch_loop_lag
from gateway.mqtt.link import MqttLink
from gateway.outbox import Outbox
from gateway.recorder import OutboxRecorder
from gateway.sdnotify import SystemdNotifier
from gateway.site import SiteController
from gateway.supervisor import Supervisor
from gateway.topics import Topics
from gateway.web import WebPage

__all__ = ["Gateway"]

log = structlog.get_logger("gateway")


class Gateway:
    """The daemon. `run()` = `start()` (may raise OSError on a port) + `serve()` + close."""

    def __init__(self, config: Config, *, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.topics = Topics(config.mqtt.topic_prefix, config.site.id)
        self.outbox = Outbox(
            config.state_dir / "outbox.sqlite",
            max_records=config.mqtt.outbox.max_records,
            max_bytes=config.mqtt.outbox.max_bytes,
            max_record_bytes=config.mqtt.max_record_bytes,
            max_memory_bytes=config.mqtt.outbox.max_memory_bytes,
            durable_timeout_s=config.mqtt.outbox.durable_timeout_s,
            synchronous=config.mqtt.outbox.synchronous,
            clock=self.clock,
        )
        self.recorder = OutboxRecorder(self.outbox, self.topics)
        OUTBOX_DEPTH.set_function(lambda: self.outbox.depth)
        OUTBOX_DROPPED.set_function(lambda: self.outbox.dropped)
        OUTBOX_BYTES.set_function(lambda: self.outbox.bytes)
        OUTBOX_DEAD_LETTERS.set_function(lambda: self.outbox.dead_letters)
        OUTBOX_REFUSED.set_function(lambda: self.outbox.refused)
        OUTBOX_TRUNCATED.set_function(lambda: self.outbox.truncated)
        OUTBOX_WITHDRAWN.set_function(lambda: self.outbox.withdrawn)
        OUTBOX_FAILING.set_function(lambda: 1 if self.outbox.failing else 0)
        self.leases = LeaseTable(self.clock)
        self.router = CommandRouter(leases=self.leases)  # grants every command's lease
        self.link: MqttLink | None = None
        if config.mqtt.enabled:
            self.link = MqttLink(
                config.mqtt,
                self.topics,
                self.outbox,
                self.router,
                info=self.info,
                clock=self.clock,
                client_id=f"pilebridge-{config.site.id}",
            )
            self.link.on_connection_change(self.leases.mqtt_connection_changed)
        self.drivers: list[Driver] = []
        self.site = SiteController(config, self.recorder, self.router, self.clock)
        self.supervisor = Supervisor(clock=self.clock, notifier=SystemdNotifier())
        self.supervisor.add_watchdog_check(self._outbox_alive)
        self.started = asyncio.Event()
        self.accept_failures: ThrottledLog | None = None
        self.started_at = self.clock.time()
        self.health = HealthReporter(
            HealthSources(
                config=config,
                clock=self.clock,
                started_at=self.started_at,
                topics=self.topics,
                twins=self.recorder.twins,
                supervisor=self.supervisor,
                outbox=self.outbox,
                link=self.link,
            )
        )
        self.recorder.subscribe(self.health.on_record)
        self.http: HttpServer | None = None
        self.web: WebPage | None = None
        self.uploads: UploadLinks | None = None
        """Log uploads from chargers (get_logs), on the HTTP listener."""
        if config.http.enabled:
            self.http = HttpServer(config.http.host, config.http.port)
            add_ops_routes(self.http.app, self.health)
            uploads = config.http.uploads
            self.uploads = UploadLinks(
                config.state_dir / "uploads",
                max_bytes=uploads.max_bytes,
                max_files=uploads.max_files,
                ttl_s=uploads.link_ttl_s,
                clock=self.clock,
            )
            add_file_routes(self.http.app, config.http.files, self.uploads)
            if config.http.ui:
                self.web = WebPage(
                    config,
                    topics=self.topics,
                    clock=self.clock,
                    recorder=self.recorder,
                    router=self.router,
                    health=self.health,
                )
                self.web.mount(self.http.app)
        self.discovery: DiscoveryPublisher | None = None
        if config.homeassistant.enabled and self.link is not None:
            self.discovery = DiscoveryPublisher(config, self.topics, self.link, self.recorder.twins)
            self.recorder.subscribe(self.discovery.on_record)

    def _outbox_alive(self) -> str | None:
        """Why systemd should restart us: commits failing longer than `restart_after_s`."""
        limit = self.config.mqtt.outbox.restart_after_s
        failing_for = self.outbox.failing_for_s()
        if limit > 0 and failing_for > limit:
            return f"outbox commits failing for {failing_for:.0f} s: {self.outbox.failing}"
        return None

    def _announce_http(self) -> None:
        """Where chargers reach this gateway for firmware and log uploads: `http.public_url`,
        else the bound address (good for chargers on this machine only)."""
        if self.uploads is None or self.http is None:
            return
        self.uploads.base_url = self.config.http.public_url or self.http.url
        log.info(
            "charger_http_url",
            url=self.uploads.base_url,
            public_url_set=self.config.http.public_url is not None,
        )

    def info(self) -> dict[str, Any]:
        """The retained `gateway/info` payload."""
        cfg = self.config
        return {
            "version": __version__,
            "started_at": format_ts(self.started_at),
            "site_id": cfg.site.id,
            "devices": {
                "chargers": [c.id for c in cfg.ocpp.chargers],
                "storage": [d.id for d in cfg.modbus.devices if d.kind == "storage"],
                "meters": [d.id for d in cfg.modbus.devices if d.kind == "meter"],
            },
            "grid_import_limit_w": cfg.site.grid_import_limit_w,
        }

    async def start(self) -> None:
        self.config.state_dir.mkdir(parents=True, exist_ok=True)
        self.accept_failures = install_accept_error_handler(asyncio.get_running_loop())
        await self.outbox.open()
        context = DriverContext(
            config=self.config,
            recorder=self.recorder,
            router=self.router,
            leases=self.leases,
            clock=self.clock,
            state_dir=self.config.state_dir,
            uploads=self.uploads,
        )
        try:
            if self.http is not None:
                await self.http.start()  # bound before READY; port in use -> OSError
                self._announce_http()
                self.supervisor.add("http", self.http.run, stop=self.http.stop)
            self.drivers = build_drivers(context)
            for driver in self.drivers:
                await driver.start()
        except BaseException:
            await self._stop_drivers()
            if self.http is not None:
                await self.http.stop()
            await self.outbox.close()
            raise
        if self.link is not None:
            self.supervisor.add("mqtt", self.link.run, stop=self.link.stop)
        else:
            log.warning(
                "mqtt_disabled", detail="records wait in the outbox until MQTT is configured"
            )
        self.supervisor.add("leases", self.leases.run)
        if self.discovery is not None:
            self.supervisor.add("homeassistant", self.discovery.run)
        for driver in self.drivers:
            self.supervisor.add(driver.name, driver.run, stop=driver.stop)
        if self.site.has_work:
            self.supervisor.add("site", self.site.run)  # stops first: it sends commands to drivers

    async def serve(self, *, install_signal_handlers: bool = True) -> None:
        lag = asyncio.create_task(watch_loop_lag(), name="loop-lag")
        try:
            self.started.set()
            await self.supervisor.run(install_signal_handlers=install_signal_handlers)
        finally:
            lag.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await lag
            await self.leases.settle()
            await self.outbox.close()
            log.info("outbox_closed", depth=self.outbox.depth, last_seq=self.outbox.last_seq)

    async def run(self, *, install_signal_handlers: bool = True) -> None:
        """The daemon: start, then (start-up's objects frozen out of the GC's reach) serve."""
        await self.start()
        tune_gc_after_startup()
        await self.serve(install_signal_handlers=install_signal_handlers)

    def request_stop(self) -> None:
        self.supervisor.request_stop()

    async def _stop_drivers(self) -> None:
        for driver in reversed(self.drivers):
            try:
                await driver.stop()
            except Exception:
                log.exception("driver_stop_failed", driver=driver.name)
