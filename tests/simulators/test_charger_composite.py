"""The simulator's composite schedule and its next re-evaluation instant (pure)."""

from __future__ import annotations

from simulators.charger.composite import CompositePeriod, composite_schedule, next_change
from simulators.charger.profiles import ChargingProfile, Period, ProfileStore, Purpose, Schedule

T0 = 1_772_355_600.0  # 2026-03-01T09:00:00Z


def profile(
    pid: int,
    purpose: Purpose,
    periods: list[tuple[int, float]],
    *,
    evse: int = 1,
    level: int = 0,
    kind: str = "Absolute",
    start: float | None = T0,
    **extra: object,
) -> ChargingProfile:
    return ChargingProfile(
        id=pid,
        stack_level=level,
        purpose=purpose,
        kind=kind,
        schedule=Schedule("W", tuple(Period(s, lim) for s, lim in periods), start=start),
        evse=evse,
        **extra,  # type: ignore[arg-type]
    )


def composite(
    store: ProfileStore, now: float, duration: float, **kw: object
) -> list[CompositePeriod]:
    args: dict[str, object] = {
        "transaction_id": "T1",
        "tx_start": None,
        "phases": 3,
        "voltage_v": 230.0,
        "rating_w": 22_000,
        **kw,
    }
    return composite_schedule(store, 1, now, duration, **args)  # type: ignore[arg-type]


def test_stacking_rules() -> None:
    store = ProfileStore()
    assert composite(store, T0, 3600) == [CompositePeriod(0, 22_000)]
    store.install(profile(1, Purpose.TX_DEFAULT, [(0, 11_000), (600, 7_000)]))
    store.install(profile(2, Purpose.TX_DEFAULT, [(0, 9_000)], level=3, valid_to=T0 + 300))
    store.install(profile(3, Purpose.STATION_MAX, [(0, 8_000)], evse=0))
    store.install(profile(4, Purpose.TX, [(0, 5_000)], valid_from=T0 + 1200))
    got = composite(store, T0, 3600)
    # level 3 until its validTo (capped at 8 kW), then level 0 (11 kW -> 8 kW cap, 7 kW at 600),
    # then the TxProfile from validFrom
    assert got == [
        CompositePeriod(0, 8_000),
        CompositePeriod(600, 7_000),
        CompositePeriod(1200, 5_000),
    ]
    assert next_change(store, T0, {}) == T0 + 300


def test_recurring_and_relative() -> None:
    store = ProfileStore()
    store.install(
        profile(
            1,
            Purpose.TX_DEFAULT,
            [(0, 4_000), (3600, 11_000)],
            kind="Recurring",
            recurrency="Daily",
            start=T0 - 1800,
        )
    )
    got = composite(store, T0, 86_400)
    assert got == [
        CompositePeriod(0, 4_000),
        CompositePeriod(1800, 11_000),
        CompositePeriod(84_600, 4_000),
    ]
    store.install(profile(2, Purpose.TX, [(0, 6_000), (7200, 3_000)], kind="Relative", start=None))
    got = composite(store, T0, 7200, tx_start=T0 - 3600)
    assert got == [CompositePeriod(0, 6_000), CompositePeriod(3600, 3_000)]
    assert next_change(store, T0, {1: T0 - 3600}) == T0 + 1800
