"""Time passing on a charge point: energy and SoC integrate, power follows the limits,
meter values go out every interval, and status changes are reported as they happen.
"""

from __future__ import annotations

import asyncio

from simulators.charger.composite import next_change
from simulators.charger.config import OcppVersion
from simulators.charger.dialect import StopReason
from simulators.charger.evse import EvseStatus
from simulators.charger.schedule import evse_limit, share_station_limit, station_limit
from simulators.charger.station_view import Station

__all__ = [
    "enqueue_all_statuses",
    "meter_loop",
    "refresh_power",
    "report_changes",
    "schedule_loop",
    "tick",
]


async def meter_loop(station: Station) -> None:
    """Every meter interval (simulated seconds; the CSMS may change it), one tick."""
    while True:
        await station.clock.sleep(station.meter_interval_s)
        tick(station)


async def schedule_loop(station: Station) -> None:
    """Follow charging schedules as they change, not only at the next meter interval: sleep
    until the next period, validity or recurrence boundary of any profile, or until the
    profiles or sessions change (every refresh_power), then let the EVSEs follow."""
    changed = station.power_refreshed
    while True:
        changed.clear()
        now = station.clock.now()
        tx_starts = {
            e.id: e.session.started_at for e in station.evses.values() if e.session is not None
        }
        at = next_change(station.profiles, now, tx_starts)
        timeout = None if at is None else (at - now) / station.clock.time_scale + 0.01
        try:
            await asyncio.wait_for(changed.wait(), timeout)
        except TimeoutError:
            refresh_power(station)


def tick(station: Station) -> None:
    """One meter interval: integrate, send meter values, end sessions whose time has come."""
    refresh_power(station)
    now = station.clock.now()
    for evse in station.evses.values():
        session = evse.session
        if session is None:
            continue
        soc = evse.soc_pct
        if session.until_soc_pct is not None and soc is not None and soc >= session.until_soc_pct:
            station.spawn(
                station.stop_transaction(
                    evse.id, StopReason.SOC_LIMIT, unplug=session.unplug_on_stop
                )
            )
        elif session.stop_at is not None and now >= session.stop_at:
            station.spawn(
                station.stop_transaction(evse.id, StopReason.LOCAL, unplug=session.unplug_on_stop)
            )
        else:
            station.queue.put(station.dialect.tx_meter(evse, session, "MeterValuePeriodic"))
    if station.reset_when_idle and all(e.session is None for e in station.evses.values()):
        station.reset_when_idle = False
        station.spawn(station.ops.reboot(hard=False))


def refresh_power(station: Station) -> None:
    """Integrate up to now, then let every EVSE follow its current limit at once."""
    elapsed = station.clock.elapsed()
    dt = elapsed - station.integrated_until_s
    station.integrated_until_s = elapsed
    for evse in station.evses.values():
        evse.integrate(dt)
    now = station.clock.now()
    wanted: dict[int, float] = {}
    for evse in station.evses.values():
        session = evse.session
        evse.limit = evse_limit(
            station.profiles,
            evse.id,
            now,
            transaction_id=None if session is None else session.transaction_id,
            tx_start=None if session is None else session.started_at,
            phases=evse.phases,
            voltage_v=evse.voltage_v,
        )
        wanted[evse.id] = evse.wanted_power_w()
    cap = station_limit(
        station.profiles, now, phases=station.config.phases, voltage_v=station.config.voltage_v
    )
    for evse_id, power in share_station_limit(wanted, cap).items():
        station.evses[evse_id].power_w = power
    report_changes(station)
    station.power_refreshed.set()


def report_changes(station: Station) -> None:
    """Queue a StatusNotification (and 2.x charging-state event) for what changed."""
    v16 = station.config.ocpp_version is OcppVersion.V16
    for evse in station.evses.values():
        new = evse.derived_status()
        old = evse.status
        evse.status = new
        changed = new != old if v16 else new.connector_status_v2 != old.connector_status_v2
        if changed and station.online:
            station.queue.put(station.dialect.status(evse.id, new))
        state = evse.charging_state()
        if evse.session is not None and state != evse.reported_state:
            if evse.reported_state is not None:
                message = station.dialect.tx_state_changed(evse, evse.session)
                if message is not None:
                    station.queue.put(message)
            evse.reported_state = state


def enqueue_all_statuses(station: Station) -> None:
    """After (re)connecting: every connector's status (1.6 also connector 0)."""
    if station.config.ocpp_version is OcppVersion.V16:
        station.queue.put(station.dialect.status(0, EvseStatus.AVAILABLE))
    for evse in station.evses.values():
        station.queue.put(station.dialect.status(evse.id, evse.status))
