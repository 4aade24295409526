"""The network side of one charge point: connect, boot, heartbeat, deliver queued messages,
and reconnect with jittered exponential backoff (one generator: `gateway.foundation.backoff`).
"""

from __future__ import annotations

import asyncio
import base64

from ocpp.exceptions import OCPPError
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.typing import Subprotocol

from gateway.foundation.aio import cancel_and_wait
from gateway.foundation.backoff import backoff_delays
from simulators.charger.config import OcppVersion
from simulators.charger.dialect import SkipMessageError
from simulators.charger.link import OcppLink
from simulators.charger.link_v2 import V21Link, V201Link
from simulators.charger.link_v16 import V16Link
from simulators.charger.recorder import CallRejectedError
from simulators.charger.simclock import TimestampStyle, parse_timestamp
from simulators.charger.station_view import Station

__all__ = ["run_connection"]

_MAX_ATTEMPTS = 3  # 1.6 TransactionMessageAttempts default on many chargers
_DEFAULT_RETRY_S = 30.0


def _headers(station: Station) -> dict[str, str]:
    """HTTP Basic auth (OCPP security profile 1): user = charge point id."""
    headers = dict(station.config.extra_headers)
    if station.config.password is not None:
        token = f"{station.config.charger_id}:{station.config.password}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(token).decode()
    return headers


_LINKS: dict[OcppVersion, type[OcppLink]] = {
    OcppVersion.V16: V16Link,
    OcppVersion.V201: V201Link,
    OcppVersion.V21: V21Link,
}


def _make_link(station: Station, ws: object) -> OcppLink:
    return _LINKS[station.config.ocpp_version](station, ws)


async def run_connection(station: Station) -> None:
    """Stay connected for as long as the simulator runs."""
    config = station.config
    delays = backoff_delays(config.backoff_initial_s, config.backoff_max_s, rng=station.rng)
    loop = asyncio.get_running_loop()
    failures = 0
    while True:
        hold = station.faults.offline_until - loop.time()
        if hold > 0:
            await asyncio.sleep(hold)
        try:
            async with connect(
                config.endpoint,
                subprotocols=[Subprotocol(config.ocpp_version.subprotocol)],
                additional_headers=_headers(station),
                open_timeout=10,
                close_timeout=2,
                max_size=2**22,
            ) as ws:
                if ws.subprotocol != config.ocpp_version.subprotocol:
                    station.log.error(
                        "subprotocol_refused", offered=config.ocpp_version.subprotocol
                    )
                else:
                    delays = backoff_delays(
                        config.backoff_initial_s, config.backoff_max_s, rng=station.rng
                    )
                    failures = 0
                    await _serve(station, _make_link(station, ws))
        except (OSError, TimeoutError, InvalidHandshake, ConnectionClosed) as exc:
            # the first failure of a streak is worth a warning (refused id, wrong password);
            # the retries that follow are not
            log = station.log.debug if failures else station.log.warning
            log("connect_failed", error=str(exc) or type(exc).__name__)
            failures += 1
        finally:
            station.link_down()
        if station.reboot_pending:
            station.reboot_pending = False
            continue
        await asyncio.sleep(next(delays))


async def _serve(station: Station, link: OcppLink) -> None:
    """Run one connection until it closes: reader and the boot/heartbeat/sender worker."""
    station.link_up(link)
    reader = asyncio.create_task(link.start(), name="ocpp-reader")
    worker = asyncio.create_task(_worker(station, link), name="ocpp-worker")
    try:
        await asyncio.wait({reader, worker}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        results = await cancel_and_wait([reader, worker])
    for result in results:
        if isinstance(result, Exception) and not _is_closed(result):
            station.log.error("connection_task_failed", error=repr(result))


def _is_closed(exc: BaseException) -> bool:
    """A connection loss, possibly wrapped in a TaskGroup's ExceptionGroup."""
    if isinstance(exc, BaseExceptionGroup):
        return all(_is_closed(e) for e in exc.exceptions)
    return isinstance(exc, ConnectionClosed)


async def _worker(station: Station, link: OcppLink) -> None:
    if not station.boot_accepted or station.config.boot_on_reconnect:
        await _boot(station, link)
    station.booted()
    async with asyncio.TaskGroup() as group:
        group.create_task(_heartbeats(station, link))
        group.create_task(_deliver(station, link))


def _set_clock(station: Station, current_time: object) -> None:
    """Take the central system's time, as real chargers do; a sim running faster than real
    time keeps its own clock (setting it back would stall scheduled sessions)."""
    if station.clock.time_scale != 1.0:
        return
    if isinstance(current_time, str) and station.faults.timestamp_style is TimestampStyle.UTC:
        try:
            station.clock.set_time(parse_timestamp(current_time))
        except ValueError:
            station.log.warning("bad_current_time", value=current_time)


async def _boot(station: Station, link: OcppLink) -> None:
    """BootNotification until Accepted; Pending / Rejected wait the given interval
    (1.6 §4.2, 2.0.1 B02/B03)."""
    station.boot_accepted = False
    while True:
        action, payload = station.dialect.boot(station.boot_reason)
        try:
            response = await link.request(action, payload)
        except (TimeoutError, CallRejectedError) as exc:
            station.log.warning("boot_failed", error=str(exc))
            await station.clock.sleep(_DEFAULT_RETRY_S)
            continue
        status = str(response.get("status"))
        interval = float(response.get("interval") or 0)
        station.boot_status = status
        _set_clock(station, response.get("currentTime"))
        if status == "Accepted":
            station.boot_accepted = True
            station.boot_reason = "PowerUp"
            if interval > 0:
                station.heartbeat_interval_s = interval
            station.log.info("boot_accepted", heartbeat_interval_s=station.heartbeat_interval_s)
            return
        station.log.info("boot_not_accepted", status=status, retry_s=interval or _DEFAULT_RETRY_S)
        if await _settled_within(station, interval or _DEFAULT_RETRY_S):
            station.boot_reason = "PowerUp"
            station.log.info("boot_accepted", trigger="TriggerMessage")
            return


async def _settled_within(station: Station, seconds: float) -> bool:
    """Wait out a Pending/Rejected interval; True when a triggered boot was accepted meanwhile
    (2.0.1 B02.FR.05: the CSMS may end Pending with TriggerMessage BootNotification)."""
    station.boot_settled.clear()
    waiter = asyncio.ensure_future(station.boot_settled.wait())
    sleeper = asyncio.ensure_future(station.clock.sleep(seconds))
    try:
        await asyncio.wait({waiter, sleeper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        await cancel_and_wait([waiter, sleeper])
    return station.boot_accepted


async def _heartbeats(station: Station, link: OcppLink) -> None:
    while True:
        await station.clock.sleep(station.heartbeat_interval_s)
        action, payload = station.dialect.heartbeat()
        try:
            response = await link.request(action, payload)
        except (TimeoutError, CallRejectedError) as exc:
            station.log.warning("heartbeat_failed", error=str(exc))
            continue
        _set_clock(station, response.get("currentTime"))


async def _deliver(station: Station, link: OcppLink) -> None:
    """Send queued messages strictly in order; a message leaves the queue once answered."""
    queue = station.queue
    while True:
        message = await queue.head()
        try:
            payload = message.build()
        except SkipMessageError as exc:
            station.log.warning("message_skipped", action=message.action, reason=str(exc))
            queue.done(message, None)
            continue
        try:
            response = await link.request(
                message.action, payload, validate=not station.faults.bends_schema
            )
        except CallRejectedError as exc:
            station.log.warning("message_refused", action=message.action, code=exc.code)
            queue.done(message, None)
            continue
        except OCPPError as exc:  # our own payload failed the schema: a simulator bug
            station.log.error("message_invalid", action=message.action, error=str(exc))
            queue.done(message, None)
            continue
        except TimeoutError:
            message.attempts += 1
            if message.attempts >= _MAX_ATTEMPTS:
                station.log.warning("message_given_up", action=message.action)
                queue.done(message, None)
            continue
        if message.on_response is not None:
            message.on_response(response)
        queue.done(message, response)
