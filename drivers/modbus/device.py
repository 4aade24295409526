"""The per-device task: connect, discover, poll, publish; reconnect with backoff when it drops.

One task and one connection per device, so a slow or dead device never delays another.
A device that fails `OFFLINE_AFTER` polls in a row is shown `connected: false`; the change
is logged once when it goes and once when it returns. Exception 6 (busy) backs off without
counting as lost: the device is there, just occupied.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import structlog

from drivers.modbus.control import ControlPlan
from drivers.modbus.errors import DeviceBusy, DiscoveryError, ExceptionReply, LinkError, VerifyError
from drivers.modbus.link import ModbusLink
from drivers.modbus.map_profile import build_map_profile
from drivers.modbus.poll_plan import PollPlan
from drivers.modbus.profile import DeviceProfile
from drivers.modbus.register_map import RegisterMap, load_register_map
from drivers.modbus.signals import decode_signals
from drivers.modbus.sunspec import build_sunspec_profile, discover
from drivers.modbus.telemetry import meter_telemetry, storage_telemetry
from gateway.foundation.backoff import backoff_delays
from gateway.foundation.clock import Clock
from gateway.foundation.config import ModbusDeviceConfig
from gateway.foundation.metrics import MODBUS_POLL_ERRORS, MODBUS_POLL_SECONDS
from gateway.foundation.model import DeviceId, MeterState, Record
from gateway.foundation.register_maps import find_register_map

__all__ = ["OFFLINE_AFTER", "ModbusDevice"]

OFFLINE_AFTER = 2
"""Failed polls in a row before the device is shown disconnected."""


def load_map_for(config: ModbusDeviceConfig) -> tuple[RegisterMap, Path] | None:
    """The device's register map, or None for SunSpec; raises RegisterMapError or FileNotFoundError."""
    if config.profile == "sunspec":
        return None
    path = find_register_map(config.profile)
    if path is None:
        raise FileNotFoundError(f"register map {config.profile!r} not found")
    return load_register_map(path), path


_ERROR_KINDS: dict[type[Exception], str] = {
    LinkError: "connection",
    ExceptionReply: "exception",
    DiscoveryError: "discovery",
}
"""The `kind` label of modbus_poll_errors_total."""


class ModbusDevice:
    def __init__(
        self,
        config: ModbusDeviceConfig,
        *,
        record: Callable[[Record], object],
        clock: Clock,
    ) -> None:
        self.config = config
        self.device_id = DeviceId(config.id)
        self.clock = clock
        self.record = record
        self.log = structlog.get_logger("drivers.modbus").bind(device_id=config.id)
        self.link = ModbusLink(config.host, config.port, timeout_s=config.timeout_s)
        self.lock = asyncio.Lock()
        loaded = load_map_for(config)
        self._map = loaded
        self.profile: DeviceProfile | None = None
        self._image: dict[tuple[int, int], int] = {}
        self._last_poll: tuple[PollPlan, list[list[int]]] | None = None
        """The last poll's plan and replies, until `image` turns them into a dictionary."""
        self.values: dict[str, float | str] = {}
        self.identity: dict[str, str] = {}
        self.connected = False
        self.failures = 0
        self._stopped = False
        self.polls = 0
        self.sessions = 0
        """Connections made (each one may follow a reboot that dropped what was written)."""
        self.last_error: str | None = None
        self.on_poll: Callable[[], Awaitable[None]] | None = None
        """Called after every good poll (the storage control refreshes its setpoint here)."""
        self.on_state: Callable[[], None] | None = None
        """Called when `connected` or identity changes (publishes the retained state)."""
        self.polled = asyncio.Event()
        self._poll_seconds = MODBUS_POLL_SECONDS.labels(config.id)

    # -- state ----------------------------------------------------------------------------

    def publish_meter_state(self) -> None:
        self.record(
            MeterState(self.device_id, self.connected, self.identity or None, self.last_error)
        )

    def _set_connected(self, connected: bool, reason: str | None = None) -> None:
        if connected == self.connected:
            return
        self.connected = connected
        if connected:
            self.log.info("modbus_device_connected", profile=self.profile and self.profile.source)
        else:
            self.log.warning("modbus_device_lost", reason=reason)
        if self.on_state is not None:
            self.on_state()

    @property
    def image(self) -> dict[tuple[int, int], int]:
        """Registers of the last poll by (unit id, address), with what writes read back since.

        Built when asked for (a setpoint plan needs it), not on every poll.
        """
        if self._last_poll is not None:
            plan, replies = self._last_poll
            self._image, self._last_poll = plan.image(replies), None
        return self._image

    # -- I/O ------------------------------------------------------------------------------

    async def _read(self, unit_id: int, address: int, count: int) -> list[int]:
        return await self.link.read(unit_id, address, count)

    async def _connect(self) -> None:
        await self.link.connect()
        unit = self.config.unit_id
        if self._map is None:
            try:
                found = await discover(lambda a, c: self._read(unit, a, c))
            except DiscoveryError as exc:
                raise DiscoveryError(f"SunSpec discovery failed: {exc}") from None
            try:
                profile = build_sunspec_profile(
                    found, self.config.kind, unit, invert_power=self.config.invert_power
                )
            except ValueError as exc:
                raise DiscoveryError(f"SunSpec map unusable: {exc}") from None
            self.log.info("sunspec_discovered", base=found.base, models=found.model_ids)
        else:
            spec, path = self._map
            profile = build_map_profile(
                spec, unit, source=path.name, invert_power=self.config.invert_power
            )
        self.profile = profile
        image: dict[tuple[int, int], int] = {}
        for block in profile.identity_blocks():
            regs = await self._read(block.unit_id, block.address, block.count)
            image.update({(block.unit_id, block.address + i): v for i, v in enumerate(regs)})
        self.identity = {k: str(v) for k, v in decode_signals(image, profile.identity).items()}
        self.sessions += 1

    async def poll_once(self) -> None:
        """One complete poll: every block, then decode and publish. Raises on failure."""
        async with self.lock:
            if not self.link.connected or self.profile is None:
                await self._connect()
            assert self.profile is not None
            plan = self.profile.poll_plan
            started = time.perf_counter()
            replies = await self.link.read_blocks(plan.blocks)
            self._poll_seconds.observe(time.perf_counter() - started)
        self._last_poll = (plan, replies)
        self.values = plan.decode(replies)
        self.polls += 1
        if self.config.kind == "storage":
            self.record(storage_telemetry(self.device_id, self.values))
        else:
            self.record(meter_telemetry(self.device_id, self.values))

    async def apply(self, plan: ControlPlan) -> None:
        """Write a plan and read it back; raises LinkError, ExceptionReply or VerifyError."""
        async with self.lock:
            if not self.link.connected:
                raise LinkError("not connected")
            for write in plan.writes:
                await self.link.write(write.unit_id, write.address, write.registers)
            for check in plan.checks:
                got = await self._read(check.unit_id, check.address, len(check.expected))
                if tuple(got) != check.expected:
                    raise VerifyError(
                        f"{check.what} read back {list(got)}, expected {list(check.expected)}"
                    )
                self.image.update(
                    {(check.unit_id, check.address + i): v for i, v in enumerate(got)}
                )

    # -- the task -------------------------------------------------------------------------

    def _until_next_tick(self) -> float:
        """Seconds to the next multiple of the poll interval on the monotonic clock.

        Polls keep a fixed rate (no drift by the time each poll takes), and devices with the
        same interval poll in step, so their records share the outbox's commits and MQTT
        writes. A poll that overran its interval waits for the next tick (no catch-up burst).
        """
        interval = self.config.poll_interval_s
        now = self.clock.monotonic()
        return (math.floor(now / interval) + 1) * interval - now

    def _delays(self) -> Iterator[float]:
        interval = self.config.poll_interval_s
        return backoff_delays(interval, max(interval, min(30.0, interval * 20)))

    async def run(self) -> None:
        self._stopped = False
        delays = self._delays()
        while not self._stopped:  # also ends a loop whose cancellation a library swallowed
            delay = self.config.poll_interval_s
            try:
                await self.poll_once()
            except DeviceBusy as exc:
                MODBUS_POLL_ERRORS.labels(self.config.id, "busy").inc()
                self.log.debug("modbus_device_busy", detail=str(exc))
                delay = max(delay, next(delays))
            except (LinkError, ExceptionReply, DiscoveryError) as exc:
                kind = _ERROR_KINDS[type(exc) if type(exc) in _ERROR_KINDS else ExceptionReply]
                MODBUS_POLL_ERRORS.labels(self.config.id, kind).inc()
                self.failures += 1
                self.last_error = str(exc)
                if self.failures >= OFFLINE_AFTER:
                    self._set_connected(False, str(exc))
                delay = max(delay, next(delays))
                self.log.debug("modbus_poll_failed", error=str(exc), failures=self.failures)
            except (ValueError, KeyError) as exc:  # a reply that decodes to nonsense
                MODBUS_POLL_ERRORS.labels(self.config.id, "decode").inc()
                self.failures += 1
                self.log.warning("modbus_decode_failed", error=str(exc))
                delay = max(delay, next(delays))
            except Exception:  # a bug here must not end the other devices' tasks
                MODBUS_POLL_ERRORS.labels(self.config.id, "internal").inc()
                self.failures += 1
                self.link.close()
                self.log.exception("modbus_poll_crashed")
                delay = max(delay, next(delays))
            else:
                delays = self._delays()
                self.failures = 0
                if not self.connected:
                    self.last_error = None
                self._set_connected(True)
                if self.on_poll is not None:
                    await self.on_poll()
                delay = self._until_next_tick()
            self.polled.set()
            self.polled = asyncio.Event()
            await self.clock.sleep(delay)

    async def stop(self) -> None:
        self._stopped = True
        async with self.lock:
            self.link.close()
