"""Closed loop, as a site runs: the demo's battery take-over, an operator cap that survives the
controller, grid meter loss, an overload on one phase, and a power target from the control
centre. The grid meter reads base load + chargers + battery, per phase, so whatever the
gateway commands shows up in the next reading, as on a real site."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from gateway.demo.closed_loop import Loop, SimCharger, site_loop
from gateway.foundation.model import (
    ChargerState,
    ChargerTelemetry,
    DeviceKind,
    FlexibilityPart,
    SiteFlexibility,
    StorageState,
    TransactionEvent,
)
from simulators.charger import EvSpec, OcppVersion

FOUR = [SimCharger(f"CP-{i}", OcppVersion.V16 if i % 2 else OcppVersion.V201) for i in range(1, 5)]


async def test_handing_the_battery_to_the_controller_gives_the_chargers_their_power_back(
    tmp_path: Path,
) -> None:
    # The demo's failure: chargers curtailed while the battery is in manual; then `mode auto`.
    async with site_loop(tmp_path, FOUR, mode="manual", base_w=20_000, site={
        "grid_import_limit_w": 45_000,
    }) as loop:  # fmt: skip
        await loop.settle(lambda: all(sim.limit_w(1) is not None for sim in loop.fleet))
        await loop.settle(lambda: loop.meter.power_w <= 45_000)
        assert loop.chargers_w() < 4 * 11_000 - 5_000
        result = await loop.command("storage", "bess-1", "mode", {"mode": "auto"})
        assert result.status.value == "accepted", result
        await loop.settle(
            lambda: (
                all(sim.limit_w(1) is None for sim in loop.fleet)
                and loop.battery.battery.power_w < -15_000
                and loop.meter.power_w <= 45_000
            )
        )
        assert loop.chargers_w() > 4 * 11_000 - 2_000  # every EV charges at full power again
        # The peak passes (a PV array now covers the base load): the battery recharges.
        loop.meter.meter.site.base_load = -15_000
        await loop.settle(lambda: loop.battery.battery.power_w > 5_000)
        assert loop.meter.power_w <= 45_000


async def test_an_operator_cap_survives_the_controller(tmp_path: Path) -> None:
    two = [SimCharger("CP-1"), SimCharger("CP-2", OcppVersion.V16)]
    async with site_loop(tmp_path, two, soc_pct=8.0, site={"grid_import_limit_w": 35_000}) as loop:
        cap = await loop.command("charger", "CP-1", "limit", {"power_w": 5000})
        assert cap.status.value == "accepted"
        # 20 kW base + 5 + 11 kW: under 35 kW; the controller has nothing to do for CP-1.
        await loop.settle(lambda: loop.sim("CP-1").limit_w(1) == 5000)
        # A peak: the controller curtails (the battery is empty) and later lifts its shares.
        loop.meter.meter.site.base_load = 30_000
        await loop.settle(lambda: loop.meter.power_w <= 35_000)
        assert (loop.sim("CP-1").limit_w(1) or 0) <= 5000
        loop.meter.meter.site.base_load = 10_000
        await loop.settle(lambda: loop.sim("CP-2").limit_w(1) is None)
        assert loop.sim("CP-1").limit_w(1) == 5000  # lifting the share left the cap in force
        twin = loop.gateway.recorder.twins.get(DeviceKind.CHARGER, "CP-1")
        assert twin is not None and isinstance(twin.state, ChargerState)
        assert twin.state.limit_in_force[0].source == "command"


async def test_grid_meter_loss_applies_the_failsafe_and_control_resumes(tmp_path: Path) -> None:
    two = [SimCharger("CP-1"), SimCharger("CP-2", OcppVersion.V16)]
    async with site_loop(tmp_path, two, base_w=10_000) as loop:
        await loop.settle(lambda: loop.chargers_w() > 20_000)
        loop.meter.faults.exception(4, n=1_000_000)  # the meter stops answering
        minimum = 6 * 230 * 3
        await loop.settle(
            lambda: all(abs((sim.limit_w(1) or 1e9) - minimum) < 50 for sim in loop.fleet)
        )
        await loop.settle(lambda: loop.chargers_w() <= 2 * minimum + 200)
        twin = loop.gateway.recorder.twins.get(DeviceKind.STORAGE, "bess-1")
        assert twin is not None and isinstance(twin.state, StorageState)
        assert abs(loop.battery.battery.power_w) < 500
        assert "grid_meter_lost" in loop.events()
        loop.meter.faults.clear()
        await loop.settle(lambda: "grid_meter_back" in loop.events())
        await loop.settle(lambda: all(sim.limit_w(1) is None for sim in loop.fleet))


async def test_an_overload_on_l1_curtails_only_what_draws_from_l1(tmp_path: Path) -> None:
    single = [
        SimCharger("ON-L1", max_power_w=7360, phases=1, grid_phases=("L1",)),
        SimCharger("ON-L2", max_power_w=3680, phases=1, grid_phases=("L2",)),
    ]
    # 10 kW balanced base (14.5 A per phase) + 32 A on L1: 46.5 A against a 40 A fuse; L2
    # carries 14.5 + 16 A and has room.
    async with site_loop(tmp_path, single, soc_pct=8.0, base_w=10_000, site={
        "grid_import_limit_w": None, "grid_import_limit_a": 40, "controller_margin_a": 1,
    }) as loop:  # fmt: skip
        await loop.settle(lambda: loop.sim("ON-L1").limit_w(1) is not None)
        await loop.settle(lambda: loop.sim("ON-L1").power_w(1) < 7360 - 500)
        assert loop.sim("ON-L2").limit_w(1) is None  # L2 has room: untouched
        assert loop.sim("ON-L2").power_w(1) > 3600
        await loop.settle(lambda: loop.meter.meter.site.phase_split_w()[0] / 230 <= 40)
        assert loop.sim("ON-L2").limit_w(1) is None


async def test_a_power_target_is_tracked_with_the_battery(tmp_path: Path) -> None:
    two = [SimCharger("CP-1"), SimCharger("CP-2", OcppVersion.V16)]
    async with site_loop(
        tmp_path, two, base_w=10_000, site={"grid_import_limit_w": 60_000}
    ) as loop:
        await loop.settle(lambda: loop.chargers_w() > 20_000)
        result = await loop.command(
            "site", "loop", "power_target", {"import_w": 5000, "ttl_s": 120}
        )
        assert result.status.value == "accepted"
        # 10 kW base + 22 kW EVs: the battery gives 27 kW and no EV slows.
        await loop.settle(lambda: abs(loop.meter.power_w - 5000) < 1500)
        assert all(sim.limit_w(1) is None for sim in loop.fleet)
        ended = await loop.command("site", "loop", "power_target", {"import_w": None, "ttl_s": 1})
        assert ended.status.value == "accepted"
        await loop.settle(lambda: loop.battery.battery.power_w > -1000)


async def test_v2g_gives_after_the_battery_and_the_export_is_accounted(tmp_path: Path) -> None:
    chargers = [
        SimCharger("V2G-1", OcppVersion.V21, bidirectional=True, ev_soc_pct=80.0),
        SimCharger("AC-1"),
    ]
    # An empty battery; 35 kW base + 22 kW of EVs against 40 kW: the V2G EV turns round.
    async with site_loop(tmp_path, chargers, soc_pct=8.0, base_w=35_000, site={
        "grid_import_limit_w": 40_000, "v2g": True, "v2g_soc_min_pct": 50,
    }) as loop:  # fmt: skip
        await loop.settle(lambda: loop.sim("V2G-1").power_w(1) < -1000)
        await loop.settle(lambda: loop.meter.power_w <= 40_000)
        await loop.settle(lambda: _exported(loop))  # the `updated` transaction events say so
        telemetry = [
            r for r in loop.records if isinstance(r, ChargerTelemetry) and r.charger_id == "V2G-1"
        ]
        assert any((t.energy_export_wh or 0) > 0 for t in telemetry)
        assert (loop.sim("AC-1").limit_w(1) or 11_000) >= 4140  # curtailed only after V2G
        # The EV says how much it may still give (2.1 charging needs): the flexibility says
        # how long: 60 % of 80 kWh above its 20 % V2X floor at 11 kW, about 15,700 s.
        status = await loop.sim("V2G-1").report_ev_needs(
            1, energy_wh=10_000, departure_in_s=3600, max_discharge_w=11_000
        )
        assert status == "Accepted"
        await loop.settle(lambda: _v2g_lasts_s(loop) is not None)
        assert 15_000 <= (_v2g_lasts_s(loop) or 0) <= 15_800


def _exported(loop: Loop) -> bool:
    return any(
        isinstance(r, TransactionEvent)
        and r.charger_id == "V2G-1"
        and (r.energy_export_wh or 0) > 0
        for r in loop.records
    )


async def test_an_explicit_charger_max_above_the_share_keeps_the_site_in_its_limit(
    tmp_path: Path,
) -> None:
    two = [SimCharger("CP-1"), SimCharger("CP-2", OcppVersion.V16)]
    # An empty battery; 20 kW base + 22 kW of EVs against 35 kW: the controller curtails.
    async with site_loop(tmp_path, two, soc_pct=8.0, site={"grid_import_limit_w": 35_000}) as loop:
        await loop.settle(lambda: all(sim.limit_w(1) is not None for sim in loop.fleet))
        await loop.settle(lambda: loop.meter.power_w <= 35_000)
        for sim in loop.fleet:
            # The control centre's own station maximum, stack level 2, far above the shares.
            explicit = await loop.command(
                "charger", sim.config.charger_id, "limit",
                {"purpose": "charger_max", "power_w": 40_000},
            )  # fmt: skip
            assert explicit.status.value == "accepted", explicit
            assert explicit.detail["held_to"]["source"] == "controller"
        worst = 0.0
        for _ in range(30):  # three seconds: six controller ticks, ten EV meter intervals
            worst = max(worst, loop.meter.power_w)
            await asyncio.sleep(0.1)
        assert worst <= 35_000 + 100
        # What each charger follows is its share (the explicit profile held to it).
        await loop.settle(lambda: all(sim.limit_w(1) == _share(loop, sim) for sim in loop.fleet))


def _share(loop: Loop, sim: Any) -> float | None:
    twin = loop.gateway.recorder.twins.get(DeviceKind.CHARGER, sim.config.charger_id)
    assert twin is not None and isinstance(twin.state, ChargerState)
    shares = [lim.power_w for lim in twin.state.limits if lim.source == "controller"]
    return shares[0] if shares else None


async def test_a_cap_on_one_evse_is_planned_for_and_its_power_goes_to_the_others(
    tmp_path: Path,
) -> None:
    two = [SimCharger("CP-1"), SimCharger("CP-2", OcppVersion.V16)]
    # An empty battery; 20 kW base against 35 kW less 1 kW margin: 14 kW for two 11 kW EVs.
    async with site_loop(tmp_path, two, soc_pct=8.0, site={"grid_import_limit_w": 35_000}) as loop:
        await loop.settle(lambda: all(sim.limit_w(1) is not None for sim in loop.fleet))
        cap = await loop.command("charger", "CP-1", "limit", {"evse": 1, "power_w": 5000})
        assert cap.status.value == "accepted", cap
        # CP-1 can take 5 kW only: the controller gives CP-2 the other 9 kW, not the 8.4 kW
        # it would get if CP-1 were planned for what it draws plus a margin.
        await loop.settle(lambda: loop.sim("CP-2").power_w(1) > 8_800)
        assert loop.sim("CP-1").power_w(1) <= 5000
        await loop.settle(lambda: loop.meter.power_w <= 35_000)


async def test_flexibility_durations_come_from_the_capacity_the_battery_reports(
    tmp_path: Path,
) -> None:
    # No capacity_wh configured: the inverter reports 100 kWh (SunSpec WHRtg) at 98 % health.
    async with site_loop(tmp_path, [SimCharger("CP-1")], capacity_wh=None) as loop:
        await loop.settle(lambda: _battery_part(loop) is not None)
        part = _battery_part(loop)
        assert part is not None and part.shed_for_s is not None and part.add_for_s is not None
        # 50 % of 98 kWh above the 10 % floor at 30 kW: about 5,880 s (the SoC moves a little).
        assert 5_600 <= part.shed_for_s <= 6_000
        # 35 % of 98 kWh below the 95 % top at 30 kW: about 4,116 s.
        assert 3_900 <= part.add_for_s <= 4_400


def _v2g_lasts_s(loop: Loop) -> float | None:
    for record in reversed(loop.records):
        if isinstance(record, SiteFlexibility):
            part = next((p for p in record.parts if p.kind == "v2g"), None)
            return None if part is None else part.shed_for_s
    return None


def _battery_part(loop: Loop) -> FlexibilityPart | None:
    for record in reversed(loop.records):
        if isinstance(record, SiteFlexibility):
            part = next((p for p in record.parts if p.kind == "storage"), None)
            return part if part is not None and part.shed_for_s is not None else None
    return None


async def test_an_ev_arriving_at_an_idle_charger_cannot_push_the_site_far_over(
    tmp_path: Path,
) -> None:
    two = [SimCharger("CP-1"), SimCharger("CP-2", OcppVersion.V16)]
    # An empty battery; 20 kW base + CP-1's 11 kW against 35 kW: 3 kW left for CP-2's start.
    async with site_loop(tmp_path, two, soc_pct=8.0, site={"grid_import_limit_w": 35_000}) as loop:
        await loop.sim("CP-2").unplug(1)
        # CP-2 is held to its minimum (6 A x 3 x 230 V) for a start, CP-1 gets the rest.
        await loop.settle(lambda: loop.sim("CP-2").limit_w(1) == 4140)
        await loop.settle(lambda: loop.meter.power_w <= 35_000)
        ev = EvSpec(capacity_kwh=80, initial_soc_pct=20, max_charge_w=11_000)
        await loop.sim("CP-2").plug_in(1, ev=ev, id_tag="TAG")
        worst = 0.0
        for _ in range(40):  # four seconds: eight controller ticks
            worst = max(worst, loop.meter.power_w)
            await asyncio.sleep(0.1)
        assert worst <= 35_000 + 4140  # not 11 kW over: the EV started at its minimum
        await loop.settle(lambda: loop.meter.power_w <= 35_000)
