"""What the site could shed or add, and for how long, with plain values: batteries bounded by
their energy (configured or reported capacity), V2G EVs by the energy they reported, charging
unbounded."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.foundation.model import StorageTelemetry
from gateway.site.flexibility import flexibility
from gateway.site.inputs import ChargerInput, SiteInputs, StorageInput
from gateway.site.readings import usable_capacity_wh


def battery(**kw: object) -> StorageInput:
    values: dict[str, object] = {
        "device_id": "bess-1",
        "power_w": 0.0,
        "setpoint_w": 0.0,
        "max_charge_w": 50_000.0,
        "max_discharge_w": 50_000.0,
        "soc_pct": 60.0,
        "soc_min_pct": 10.0,
        "soc_max_pct": 95.0,
        "capacity_wh": 200_000.0,
    }
    values.update(kw)
    return StorageInput(**values)  # type: ignore[arg-type]


def site(*storage: StorageInput, chargers: tuple[ChargerInput, ...] = ()) -> SiteInputs:
    return SiteInputs(30_000.0, 60_000.0, storage=storage, chargers=chargers)


def test_a_battery_lasts_as_long_as_its_energy_above_the_floor_at_full_power() -> None:
    flex = flexibility(site(battery()), {})
    # 50 % of 200 kWh above the floor at 50 kW: 2 h; 35 % of room below the top: 1.4 h.
    assert (flex.shed_w, flex.shed_for_s) == (50_000, 7200)
    assert flex.add_for_s == 5040
    assert flex.add_w == 30_000  # 50 kW of charging, held to the 30 kW left below the limit


def test_without_a_capacity_the_durations_are_not_known() -> None:
    flex = flexibility(site(battery(capacity_wh=None)), {})
    assert (flex.shed_w, flex.shed_for_s, flex.add_for_s) == (50_000, None, None)


def test_the_capacity_comes_from_the_config_else_from_the_device() -> None:
    reported = StorageTelemetry("bess-1", capacity_wh=100_000.0, soh_pct=90.0)
    assert usable_capacity_wh(150_000.0, reported) == 150_000.0
    assert usable_capacity_wh(None, reported) == 90_000.0
    assert usable_capacity_wh(None, StorageTelemetry("bess-1", capacity_wh=80_000.0)) == 80_000
    assert usable_capacity_wh(None, StorageTelemetry("bess-1", soc_pct=50.0)) is None
    assert usable_capacity_wh(None, None) is None


def test_a_v2g_ev_lasts_as_long_as_the_energy_it_reported() -> None:
    ev = ChargerInput(
        "V2G-1", 11_000.0, 11_000.0, None, v2g_w=11_000.0, v2g_energy_wh=22_000.0
    )
    flex = flexibility(site(battery(), chargers=(ev,)), {})
    v2g = next(p for p in flex.parts if p.kind == "v2g")
    assert (v2g.shed_w, v2g.shed_for_s) == (22_000, 7200)
    assert flex.shed_for_s == 7200  # the shorter of the battery's and the EV's
    unknown = ChargerInput("V2G-1", 11_000.0, 11_000.0, None, v2g_w=11_000.0)
    flex = flexibility(site(chargers=(unknown,)), {})
    assert [p.shed_for_s for p in flex.parts if p.kind == "v2g"] == [None]


@settings(max_examples=300, deadline=None)
@given(
    soc=st.floats(0, 100),
    capacity=st.floats(1_000, 1e6),
    discharge=st.floats(0, 100_000),
    charge=st.floats(0, 100_000),
    setpoint=st.floats(-100_000, 100_000),
)
def test_a_battery_never_offers_more_energy_than_it_holds(
    soc: float, capacity: float, discharge: float, charge: float, setpoint: float
) -> None:
    b = battery(
        soc_pct=soc,
        capacity_wh=capacity,
        max_discharge_w=discharge,
        max_charge_w=charge,
        setpoint_w=setpoint,
    )
    flex = flexibility(site(b), {})
    part = flex.parts[0]
    assert part.shed_w >= 0 and part.add_w >= 0
    stored = max(0.0, soc - 10) / 100 * capacity
    room = max(0.0, 95 - soc) / 100 * capacity
    if part.shed_for_s is not None:
        assert part.shed_for_s >= 0
        assert part.shed_for_s * discharge / 3600 <= stored + discharge / 3600  # rounding: 1 s
    if part.add_for_s is not None:
        assert part.add_for_s >= 0
        assert part.add_for_s * charge / 3600 <= room + charge / 3600
    assert flex.add_w <= 30_000  # never past the import limit
