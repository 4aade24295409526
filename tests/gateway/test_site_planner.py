from __future__ import annotations

from gateway.site.planner import ChargerInput, SiteInputs, StorageInput, plan


def charger(
    cid: str, power: float, limit: float | None = None, max_w: float = 22000
) -> ChargerInput:
    return ChargerInput(cid, power, max_w, limit)


def battery(power: float = 0, setpoint: float = 0, soc: float | None = 50) -> StorageInput:
    return StorageInput("bess-1", power, setpoint, 50000, 50000, soc, 10, 95)


def test_inside_the_limit_nothing_changes() -> None:
    decided = plan(
        SiteInputs(grid_power_w=98_900, import_limit_w=100_000, chargers=(charger("a", 20000),))
    )
    assert decided.empty


def test_a_peak_is_covered_by_the_battery_before_any_charger_slows() -> None:
    decided = plan(
        SiteInputs(
            grid_power_w=110_000,
            import_limit_w=100_000,
            margin_w=1000,
            chargers=(charger("a", 22000), charger("b", 22000)),
            storage=(battery(),),
        )
    )
    assert decided.storage_setpoints_w == {"bess-1": -11000}  # discharge 11 kW (load convention)
    assert decided.charger_limits_w == {}


def test_an_empty_battery_leaves_it_to_the_chargers_in_equal_shares() -> None:
    decided = plan(
        SiteInputs(
            grid_power_w=110_000,
            import_limit_w=100_000,
            margin_w=1000,
            chargers=(charger("a", 22000), charger("b", 22000), charger("idle", 0)),
            storage=(battery(soc=10),),
        )
    )
    assert decided.storage_setpoints_w == {}
    assert decided.charger_limits_w == {"a": 16500, "b": 16500}  # 44 kW - 11 kW, shared


def test_a_peak_larger_than_the_battery_uses_both() -> None:
    decided = plan(
        SiteInputs(
            grid_power_w=170_000,
            import_limit_w=100_000,
            margin_w=0,
            chargers=(charger("a", 22000), charger("b", 22000)),
            storage=(battery(),),
        )
    )
    assert decided.storage_setpoints_w == {"bess-1": -50000}
    assert decided.charger_limits_w == {"a": 12000, "b": 12000}


def test_headroom_goes_back_to_curtailed_chargers_first_then_lifts_them() -> None:
    some = plan(
        SiteInputs(
            grid_power_w=90_000,
            import_limit_w=100_000,
            margin_w=1000,
            chargers=(charger("a", 10000, limit=10000), charger("b", 10000, limit=10000)),
            storage=(battery(power=-5000, setpoint=-5000),),
        )
    )
    assert some.charger_limits_w == {"a": 14500, "b": 14500}
    assert some.storage_setpoints_w == {}  # the battery keeps shaving until chargers are free
    lifted = plan(
        SiteInputs(
            grid_power_w=60_000,
            import_limit_w=100_000,
            margin_w=1000,
            chargers=(charger("a", 10000, limit=10000), charger("b", 10000, limit=10000)),
        )
    )
    assert lifted.charger_limits_w == {"a": None, "b": None}


def test_with_chargers_free_the_battery_eases_off_then_recharges() -> None:
    ease = plan(
        SiteInputs(
            grid_power_w=95_000,
            import_limit_w=100_000,
            margin_w=1000,
            storage=(battery(power=-20000, setpoint=-20000),),
        )
    )
    assert ease.storage_setpoints_w == {"bess-1": -16000}
    recharge = plan(
        SiteInputs(grid_power_w=40_000, import_limit_w=100_000, margin_w=1000, storage=(battery(),))
    )
    assert recharge.storage_setpoints_w == {"bess-1": 50000}  # capped at max_charge_w
    full = plan(SiteInputs(grid_power_w=40_000, import_limit_w=100_000, storage=(battery(soc=95),)))
    assert full.empty  # no charge above soc_max


def test_equal_share_gives_unused_capacity_to_the_others() -> None:
    decided = plan(
        SiteInputs(
            grid_power_w=121_000,
            import_limit_w=100_000,
            margin_w=0,
            chargers=(charger("small", 7000, max_w=7400), charger("a", 22000), charger("b", 22000)),
        )
    )
    # 51 kW drawn, 21 kW too much: a 30 kW budget; the 7.4 kW charger cannot use a third of it.
    assert decided.charger_limits_w == {"small": 7400, "a": 11300, "b": 11300}


def test_export_beyond_its_limit_is_absorbed_by_the_battery() -> None:
    decided = plan(
        SiteInputs(
            grid_power_w=-30_000,
            import_limit_w=100_000,
            export_limit_w=10_000,
            storage=(battery(),),
        )
    )
    assert decided.storage_setpoints_w == {"bess-1": 20000}
