"""What the charge point does when the central system asks (version-neutral).

The per-version links parse the request and map the answer onto their enums; here is the
behaviour. Anything that needs to send a CALL is returned as a follow-up, which the link runs
only after its CALLRESULT went out (a handler that awaits a CALL of its own would deadlock).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from simulators.charger.activity import STATUS_TRIGGERS, activity_status
from simulators.charger.composite import composite_schedule
from simulators.charger.config import OcppVersion
from simulators.charger.dialect import StopReason
from simulators.charger.evse import Evse
from simulators.charger.profiles import Purpose, parse_profile
from simulators.charger.station_view import Station

__all__ = ["CompositeAnswer", "CsmsOperations", "FollowUp"]

FollowUp = Callable[[], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class CompositeAnswer:
    start: str
    unit: str
    periods: list[dict[str, Any]]


TRIGGERABLE = frozenset(
    {"BootNotification", "Heartbeat", "StatusNotification", "MeterValues", "TransactionEvent"}
) | frozenset(STATUS_TRIGGERS)


class CsmsOperations:
    def __init__(self, station: Station) -> None:
        self.station = station

    def _evse(self, evse_id: int | None) -> Evse | None:
        return None if evse_id is None else self.station.evses.get(evse_id)

    # -- smart charging (1.6 §5.16/§5.5, 2.0.1 K01/K10) --------------------------------------

    def set_profile(self, evse_id: int, raw_profile: dict[str, Any]) -> bool:
        station = self.station
        if evse_id != 0 and evse_id not in station.evses:
            return False
        try:
            profile = parse_profile(raw_profile, evse_id, station.clock.now())
        except (KeyError, TypeError, ValueError) as exc:
            station.log.warning("profile_invalid", error=str(exc))
            return False
        if profile.purpose is Purpose.STATION_MAX and evse_id != 0:
            return False
        if profile.purpose is Purpose.TX:
            unit = station.evses.get(evse_id)
            if unit is None or unit.session is None:
                return False  # 1.6 §5.16.3 / K01.FR.09: a TxProfile needs a running transaction
            if (
                profile.transaction_id is not None
                and profile.transaction_id != unit.session.transaction_id
            ):
                return False
        station.profiles.install(profile)
        station.log.info(
            "profile_installed",
            evse=evse_id,
            profile_id=profile.id,
            purpose=profile.purpose.value,
            stack_level=profile.stack_level,
        )
        station.refresh_power()
        return True

    def clear_profiles(
        self,
        *,
        profile_id: int | None = None,
        evse_id: int | None = None,
        purpose: str | None = None,
        stack_level: int | None = None,
    ) -> bool:
        removed = self.station.profiles.clear(
            profile_id=profile_id,
            evse=evse_id,
            purpose=None if purpose is None else Purpose.from_ocpp(purpose),
            stack_level=stack_level,
        )
        self.station.log.info("profiles_cleared", count=removed)
        self.station.refresh_power()
        return removed > 0

    def composite(self, evse_id: int, duration_s: int, unit: str | None) -> CompositeAnswer | None:
        """GetCompositeSchedule (1.6 §5.7, 2.0.1 K08); None: unknown EVSE (Rejected)."""
        station = self.station
        if evse_id != 0 and evse_id not in station.evses:
            return None
        now = station.clock.now()
        unit = "A" if unit == "A" else "W"
        session = station.evses[evse_id].session if evse_id else None
        config = station.config
        rating = config.max_power_w * (len(station.evses) if evse_id == 0 else 1)
        periods = composite_schedule(
            station.profiles,
            evse_id,
            now,
            duration_s,
            transaction_id=None if session is None else session.transaction_id,
            tx_start=None if session is None else session.started_at,
            phases=config.phases,
            voltage_v=config.voltage_v,
            rating_w=rating,
        )
        per_amp = config.phases * config.voltage_v

        def value(watts: float) -> float:
            return round(watts / per_amp if unit == "A" else watts, 1)

        out = []
        for p in periods:
            item: dict[str, Any] = {"startPeriod": p.offset_s, "limit": value(p.limit_w)}
            item["numberPhases"] = config.phases
            if p.setpoint_w is not None and config.ocpp_version is OcppVersion.V21:
                item["setpoint"] = value(p.setpoint_w)
                item["operationMode"] = "CentralSetpoint"
            out.append(item)
        return CompositeAnswer(station.timestamp(), unit, out)

    # -- remote control (1.6 §5.11/§5.12, 2.0.1 F01/F03) ---------------------------------------

    def remote_start(
        self,
        evse_id: int | None,
        id_tag: str,
        *,
        remote_start_id: int | None = None,
        id_token_type: str = "ISO14443",
        raw_profile: dict[str, Any] | None = None,
    ) -> FollowUp | None:
        """Accept by returning the follow-up that starts the session; None rejects."""
        station = self.station
        if evse_id is None or evse_id == 0:
            free = [e for e in station.evses.values() if e.session is None and e.operative]
            unit = next((e for e in free if e.plugged), free[0] if free else None)
        else:
            unit = self._evse(evse_id)
        if unit is None or unit.session is not None or not unit.operative:
            return None
        target = unit.id

        async def start() -> None:
            session = await station.start_transaction(
                target,
                id_tag,
                authorize=False,
                remote_start_id=remote_start_id,
                id_token_type=id_token_type,
            )
            if session is not None and raw_profile is not None:
                profile = dict(raw_profile)
                profile.setdefault("transactionId", session.transaction_id)
                self.set_profile(target, profile)

        return start

    def remote_stop(self, transaction_id: str) -> FollowUp | None:
        units = [
            u
            for u in self.station.evses.values()
            if u.session is not None and u.session.transaction_id == transaction_id
        ]
        if not units:
            return None
        target = units[0].id

        async def stop() -> None:
            await self.station.stop_transaction(target, StopReason.REMOTE)

        return stop

    # -- availability, reset, unlock (1.6 §5.2/§5.14/§5.18, 2.0.1 G03/B11/F05) ------------------

    def change_availability(self, evse_id: int, operative: bool) -> str:
        """ "Accepted", "Scheduled" (after the running session) or "Rejected"."""
        station = self.station
        if evse_id == 0:
            targets = list(station.evses.values())
        elif evse_id in station.evses:
            targets = [station.evses[evse_id]]
        else:
            return "Rejected"
        result = "Accepted"
        for unit in targets:
            if unit.session is not None and not operative:
                unit.pending_operative = operative
                result = "Scheduled"
            else:
                unit.operative = operative
                unit.pending_operative = None
        station.refresh_power()
        return result

    def reset(self, *, hard: bool, when_idle: bool = False) -> tuple[str, FollowUp | None]:
        station = self.station
        busy = any(e.session is not None for e in station.evses.values())
        if when_idle and busy:
            station.reset_when_idle = True
            return "Scheduled", None

        async def reboot() -> None:
            await self.reboot(hard=hard)

        return "Accepted", reboot

    def reset_evse(self, evse_id: int, *, hard: bool) -> tuple[str, FollowUp | None]:
        """2.x B11/B12 with evseId: only that EVSE restarts (its session ends)."""
        unit = self._evse(evse_id)
        if unit is None:
            return "Rejected", None
        station = self.station
        reason = StopReason.HARD_RESET if hard else StopReason.SOFT_RESET

        async def restart() -> None:
            if unit.session is not None:
                await station.stop_transaction(unit.id, reason)
            station.log.info("evse_reset", evse=unit.id, hard=hard)
            station.queue.put(station.dialect.status(unit.id, unit.status))

        return "Accepted", restart

    async def reboot(self, hard: bool, boot_reason: str = "RemoteReset") -> None:
        """Reset: end sessions, drop the connection, reconnect at once and boot again."""
        reason = StopReason.HARD_RESET if hard else StopReason.SOFT_RESET
        for evse in self.station.evses.values():
            if evse.session is not None:
                await self.station.stop_transaction(evse.id, reason)
        self.station.log.info("rebooting", hard=hard)
        self.station.boot_accepted = False
        self.station.boot_reason = boot_reason
        self.station.reboot_pending = True
        link = self.station.link
        if link is not None:
            if hard:
                link.abort()
            else:
                await link.close()

    def unlock(self, evse_id: int, *, stop_running: bool) -> tuple[str, FollowUp | None]:
        """ "Unlocked", "Ongoing" (2.x refuses during a session) or "Unknown"."""
        unit = self._evse(evse_id)
        if unit is None:
            return "Unknown", None
        if unit.session is not None and not stop_running:
            return "Ongoing", None
        station = self.station

        async def release() -> None:
            if unit.session is not None:
                await station.stop_transaction(unit.id, StopReason.UNLOCK)
            if unit.plugged:
                await station.unplug(unit.id)

        return "Unlocked", release

    # -- TriggerMessage (1.6 §5.17, 2.0.1 F06) --------------------------------------------------

    def trigger(self, message: str, evse_id: int | None) -> tuple[str, FollowUp | None]:
        station = self.station
        if message not in TRIGGERABLE:
            return "NotImplemented", None
        if evse_id not in (None, 0) and evse_id not in station.evses:
            return "Rejected", None
        units = [station.evses[evse_id]] if evse_id else list(station.evses.values())

        async def send() -> None:
            link = station.link
            if link is None:
                return
            if message == "BootNotification":
                action, payload = station.dialect.boot("Triggered")
                station.boot_answered(await link.request(action, payload))
            elif message in STATUS_TRIGGERS:
                await link.request(*activity_status(station, message))
            elif message == "Heartbeat":
                await link.request(*station.dialect.heartbeat())
            elif message == "StatusNotification":
                for unit in units:
                    station.queue.put(station.dialect.status(unit.id, unit.status))
            elif message == "MeterValues":
                station.refresh_power()
                for unit in units:
                    await link.request(*station.dialect.meter_values(unit, "Trigger"))
            else:
                for unit in units:
                    if unit.session is not None:
                        station.queue.put(station.dialect.tx_meter(unit, unit.session, "Trigger"))

        return "Accepted", send
