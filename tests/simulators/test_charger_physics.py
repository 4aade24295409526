"""Pure parts: EV physics, profile parsing and evaluation, meter encoding, configuration."""

from __future__ import annotations

import pytest

from gateway.foundation.clock import FakeClock
from simulators.charger import ChargerSim
from simulators.charger.config import ChargerConfig, OcppVersion, parse_versions
from simulators.charger.ev import EvSpec, accepted_charge_w, integrate_soc, target_power_w
from simulators.charger.meter import Reading, sampled_values_v2, sampled_values_v16
from simulators.charger.profiles import ProfileStore, Purpose, parse_profile
from simulators.charger.schedule import evse_limit, period_at, share_station_limit, station_limit
from simulators.charger.simclock import SimClock, TimestampStyle, format_timestamp, parse_timestamp
from simulators.charger.txqueue import QueuedMessage, TxQueue

T0 = parse_timestamp("2026-01-01T00:00:00Z")


def test_taper_above_80_and_zero_when_full() -> None:
    ev = EvSpec(max_charge_w=10_000)
    assert accepted_charge_w(ev, 50) == 10_000
    assert accepted_charge_w(ev, 80) == 10_000
    assert accepted_charge_w(ev, 90) == pytest.approx(5_000)
    assert 0 < accepted_charge_w(ev, 99.9) < 1_000
    assert accepted_charge_w(ev, 100) == 0
    assert accepted_charge_w(EvSpec(target_soc_pct=70), 70) == 0


def test_soc_integrates_power() -> None:
    # 10 kW for 1 h into a 50 kWh battery: +20 %
    assert integrate_soc(40, 10_000, 3600, 50) == pytest.approx(60)
    assert integrate_soc(40, -10_000, 3600, 50) == pytest.approx(20)
    assert integrate_soc(99, 10_000, 3600, 50) == 100
    assert integrate_soc(1, -10_000, 3600, 50) == 0


def test_target_power_respects_every_limit() -> None:
    ev = EvSpec(max_charge_w=11_000, max_discharge_w=7_000, min_soc_pct=20)
    common = {"ev": ev, "soc_pct": 50.0, "hardware_max_w": 22_000.0}
    assert target_power_w(**common, limit_w=None) == 11_000
    assert target_power_w(**common, limit_w=7_000) == 7_000
    assert target_power_w(**common, limit_w=3_000, min_charge_w=4_140) == 0  # < 6 A pauses
    assert target_power_w(**common, limit_w=None, setpoint_w=-5_000) == 0  # unidirectional
    bidi = {**common, "hardware_discharge_w": 10_000.0}
    assert target_power_w(**bidi, limit_w=None, setpoint_w=-5_000) == -5_000
    assert target_power_w(**bidi, limit_w=None, setpoint_w=-9_000) == -7_000  # EV limit
    assert target_power_w(**bidi, limit_w=-4_000) == -4_000
    assert (
        target_power_w(**bidi, limit_w=None, setpoint_w=-5_000, discharge_limit_w=-2_000) == -2_000
    )
    low = {**bidi, "soc_pct": 20.0}
    assert target_power_w(**low, limit_w=None, setpoint_w=-5_000) == 0  # V2G floor


def _v16(pid: int, purpose: str, limit: float, **extra: object) -> dict[str, object]:
    schedule = {
        "chargingRateUnit": extra.pop("unit", "W"),
        "chargingSchedulePeriod": extra.pop("periods", [{"startPeriod": 0, "limit": limit}]),
    }
    schedule.update(extra.pop("schedule", {}))  # type: ignore[call-overload]
    return {
        "chargingProfileId": pid,
        "stackLevel": extra.pop("stack", 0),
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": extra.pop("kind", "Absolute"),
        "chargingSchedule": schedule,
        **extra,
    }


def test_parse_v16_and_v2_profiles() -> None:
    p16 = parse_profile(_v16(3, "ChargePointMaxProfile", 10, unit="A"), 0, T0)
    assert (p16.id, p16.purpose, p16.schedule.rate_unit) == (3, Purpose.STATION_MAX, "A")
    raw2 = {
        "id": 8,
        "stackLevel": 2,
        "chargingProfilePurpose": "TxProfile",
        "chargingProfileKind": "Relative",
        "transactionId": "abc",
        "chargingSchedule": [
            {
                "id": 1,
                "chargingRateUnit": "W",
                "chargingSchedulePeriod": [
                    {"startPeriod": 0, "limit": 5000, "setpoint_L2": 1, "setpoint": -3000},
                ],
            }
        ],
    }
    p2 = parse_profile(raw2, 1, T0)
    assert (p2.id, p2.stack_level, p2.transaction_id, p2.kind) == (8, 2, "abc", "Relative")
    assert p2.schedule.periods[0].setpoint == -3000


def test_periods_follow_time() -> None:
    raw = _v16(
        1,
        "TxDefaultProfile",
        0,
        periods=[{"startPeriod": 0, "limit": 11000}, {"startPeriod": 600, "limit": 4000}],
        schedule={"startSchedule": "2026-01-01T00:00:00Z", "duration": 1200},
    )
    profile = parse_profile(raw, 1, T0)
    assert period_at(profile, T0 - 1, None) is None
    assert period_at(profile, T0 + 10, None).limit == 11000  # type: ignore[union-attr]
    assert period_at(profile, T0 + 601, None).limit == 4000  # type: ignore[union-attr]
    assert period_at(profile, T0 + 1200, None) is None


def test_recurring_and_relative() -> None:
    daily = parse_profile(
        _v16(
            1,
            "TxDefaultProfile",
            0,
            kind="Recurring",
            recurrencyKind="Daily",
            periods=[{"startPeriod": 0, "limit": 1}, {"startPeriod": 3600, "limit": 2}],
            schedule={"startSchedule": "2026-01-01T00:00:00Z"},
        ),
        1,
        T0,
    )
    assert period_at(daily, T0 + 86_400 * 3 + 10, None).limit == 1  # type: ignore[union-attr]
    assert period_at(daily, T0 + 86_400 * 3 + 3_700, None).limit == 2  # type: ignore[union-attr]
    relative = parse_profile(
        _v16(
            2,
            "TxProfile",
            0,
            kind="Relative",
            periods=[{"startPeriod": 0, "limit": 1}, {"startPeriod": 60, "limit": 2}],
        ),
        1,
        T0,
    )
    assert period_at(relative, T0 + 100, tx_start=T0 + 50).limit == 1  # type: ignore[union-attr]
    assert period_at(relative, T0 + 120, tx_start=T0 + 50).limit == 2  # type: ignore[union-attr]


def test_precedence_and_units() -> None:
    store = ProfileStore()
    store.install(parse_profile(_v16(1, "TxDefaultProfile", 16, unit="A"), 0, T0))
    limit = evse_limit(store, 1, T0, transaction_id=None, tx_start=None, phases=3, voltage_v=230)
    assert limit.charge_w == pytest.approx(16 * 3 * 230)
    store.install(parse_profile(_v16(2, "TxDefaultProfile", 9000), 1, T0))  # EVSE-specific wins
    limit = evse_limit(store, 1, T0, transaction_id=None, tx_start=None, phases=3, voltage_v=230)
    assert limit.charge_w == 9000
    store.install(parse_profile(_v16(3, "TxProfile", 5000, transactionId=5), 1, T0))
    limit = evse_limit(store, 1, T0, transaction_id="5", tx_start=T0, phases=3, voltage_v=230)
    assert limit.charge_w == 5000
    store.install(parse_profile(_v16(4, "TxProfile", 3000, stack=1, transactionId=5), 1, T0))
    limit = evse_limit(store, 1, T0, transaction_id="5", tx_start=T0, phases=3, voltage_v=230)
    assert limit.charge_w == 3000  # higher stack level
    store.end_transaction(1)
    limit = evse_limit(store, 1, T0, transaction_id="5", tx_start=T0, phases=3, voltage_v=230)
    assert limit.charge_w == 9000
    one_phase = parse_profile(
        _v16(
            5,
            "ChargePointMaxProfile",
            0,
            unit="A",
            periods=[{"startPeriod": 0, "limit": 10, "numberPhases": 1}],
        ),
        0,
        T0,
    )
    store.install(one_phase)
    assert station_limit(store, T0, phases=3, voltage_v=230) == pytest.approx(2300)


def test_v21_idle_operation_mode_stops_transfer() -> None:
    store = ProfileStore()
    raw = {
        "id": 1,
        "stackLevel": 0,
        "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": [
            {
                "id": 1,
                "chargingRateUnit": "W",
                "chargingSchedulePeriod": [
                    {"startPeriod": 0, "limit": 11000, "operationMode": "Idle"}
                ],
            }
        ],
    }
    store.install(parse_profile(raw, 1, T0))
    limit = evse_limit(store, 1, T0, transaction_id=None, tx_start=None, phases=3, voltage_v=230)
    assert limit.charge_w == 0 and limit.setpoint_w is None


def test_install_replaces_and_clear_matches() -> None:
    store = ProfileStore()
    store.install(parse_profile(_v16(1, "TxDefaultProfile", 1000), 1, T0))
    store.install(
        parse_profile(_v16(2, "TxDefaultProfile", 2000), 1, T0)
    )  # same purpose+level+evse
    assert [p.id for p in store.profiles] == [2]
    store.install(parse_profile(_v16(3, "ChargePointMaxProfile", 5000), 0, T0))
    assert store.clear(purpose=Purpose.TX_DEFAULT) == 1
    assert store.clear(profile_id=99) == 0
    assert store.clear(evse=0) == 1 and not store.profiles


def test_station_cap_is_shared() -> None:
    assert share_station_limit({1: 11000, 2: 11000}, 11000) == {1: 5500, 2: 5500}
    assert share_station_limit({1: 4000, 2: -3000}, 2000) == {1: 2000, 2: -3000}
    assert share_station_limit({1: 4000}, None) == {1: 4000}


def test_meter_encodings() -> None:
    reading = Reading(
        energy_import_wh=12345.67,
        energy_export_wh=0,
        power_w=6900,
        phases=3,
        voltage_v=230,
        soc_pct=55.5,
    )
    v16 = sampled_values_v16(reading)
    assert {s["measurand"] for s in v16} >= {
        "Energy.Active.Import.Register",
        "Power.Active.Import",
        "Current.Import",
        "Voltage",
        "SoC",
    }
    assert all(isinstance(s["value"], str) for s in v16)
    current = [s for s in v16 if s["measurand"] == "Current.Import"]
    assert [s["phase"] for s in current] == ["L1", "L2", "L3"] and current[0]["value"] == "10"
    assert next(s["value"] for s in v16 if s["measurand"].startswith("Energy")) == "12345.7"
    v2 = sampled_values_v2(Reading(10, 500, -3000, 1, 230, 40))
    assert all(isinstance(s["value"], float | int) for s in v2)
    measurands = [s["measurand"] for s in v2]
    assert "Power.Active.Export" in measurands and "Energy.Active.Export.Register" in measurands


def test_config_and_versions() -> None:
    config = ChargerConfig("CP 1/x", url="ws://h:9000/ocpp/")
    assert config.endpoint == "ws://h:9000/ocpp/CP%201%2Fx"
    assert OcppVersion.V201.subprotocol == "ocpp2.0.1"
    assert parse_versions("1.6J, 2.0.1,ocpp2.1") == [
        OcppVersion.V16,
        OcppVersion.V201,
        OcppVersion.V21,
    ]
    with pytest.raises(ValueError):
        parse_versions("1.5")
    with pytest.raises(ValueError):
        ChargerConfig("CP-1", evse_count=0)
    assert ChargerConfig("CP-1").discharge_limit_w == 0
    assert ChargerConfig("CP-1", bidirectional=True, max_power_w=7000).discharge_limit_w == 7000


def test_sim_clock_and_timestamps() -> None:
    class Manual:
        def __init__(self) -> None:
            self.t = 0.0

        def time(self) -> float:
            return T0 + self.t

        def monotonic(self) -> float:
            return self.t

        async def sleep(self, seconds: float) -> None:
            self.t += seconds

    real = Manual()
    clock = SimClock(time_scale=60, clock=real)
    real.t = 2.0
    assert clock.elapsed() == pytest.approx(120)
    assert clock.now() == pytest.approx(T0 + 120)
    clock.set_time(T0 + 1000)
    assert clock.now() == pytest.approx(T0 + 1000)
    assert clock.timestamp() == "2026-01-01T00:16:40.000Z"
    assert clock.timestamp(TimestampStyle.UNSET) == "1970-01-01T00:02:00.000Z"
    local = format_timestamp(T0, TimestampStyle.LOCAL)
    assert len(local) == 19 and "Z" not in local
    assert parse_timestamp("2026-01-01T00:00:00") == T0


async def test_injected_clock_drives_a_session_without_network() -> None:
    clock = FakeClock()
    sim = ChargerSim(ChargerConfig("CP-9", max_power_w=11_000), clock=clock)
    ev = EvSpec(capacity_kwh=50, initial_soc_pct=20, max_charge_w=11_000)
    session = await sim.plug_in(1, ev=ev, id_tag="OFFLINE")  # not connected: local authorization
    assert session is not None and sim.power_w(1) == 11_000
    await clock.advance(3600)
    sim.tick()
    assert sim.energy_wh(1) == pytest.approx(11_000)
    assert sim.soc_pct(1) == pytest.approx(42)
    assert [m.action for m in sim.queue] == ["StartTransaction", "MeterValues"]


async def test_queue_drops_periodic_meter_values_first() -> None:
    queue = TxQueue(limit=3)

    def message(action: str, droppable: bool = False) -> QueuedMessage:
        return QueuedMessage(action, dict, droppable=droppable)

    for item in (message("Start"), message("Meter", True), message("Meter2", True)):
        queue.put(item)
    queue.put(message("Stop"))
    queue.put(message("Meter3", True))
    assert [m.action for m in queue] == ["Start", "Stop", "Meter3"]
    assert queue.dropped == 2
