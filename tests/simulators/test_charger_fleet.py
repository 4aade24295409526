"""Many charge points in one process, and the command line that starts them."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from simulators.charger import ChargerConfig, ChargerFleet, OcppVersion
from simulators.charger.cli import add_arguments, build_fleet, run
from simulators.charger.fleet import fleet_configs
from tests.simulators.conftest import CentralSystem


async def test_fleet_of_mixed_versions(csms: CentralSystem) -> None:
    template = ChargerConfig(
        "t",
        url=csms.url,
        meter_interval_s=6,
        time_scale=60,
        backoff_initial_s=0.05,
        backoff_max_s=0.2,
    )
    configs = fleet_configs(
        30, template, id_prefix="F-", versions=[OcppVersion.V16, OcppVersion.V201, OcppVersion.V21]
    )
    async with ChargerFleet(configs, stagger_s=0.002, seed=1) as fleet:
        await fleet.wait_booted(timeout_s=20)
        assert fleet.booted_count() == 30
        await csms.wait_for(lambda: len(set(csms.cps)) == 30)
        assert {cp.__class__.__name__ for cp in csms.cps.values()} == {
            "Csms16",
            "Csms201",
            "Csms21",
        }
        await fleet["F-2"].plug_in(1, id_tag="X")
        assert fleet.total_power_w() > 0
        assert fleet["F-2"].config.ocpp_version is OcppVersion.V201


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_cli_builds_the_fleet() -> None:
    args = _args(
        "--url",
        "ws://x:1/ocpp",
        "--count",
        "3",
        "--ocpp",
        "1.6,2.1",
        "--evses",
        "2",
        "--max-power-w",
        "7400",
        "--password",
        "pw",
        "--id-prefix",
        "S-",
    )
    fleet = build_fleet(args)
    ids = [s.config.charger_id for s in fleet.sims]
    assert ids == ["S-1", "S-2", "S-3"]
    assert [s.config.ocpp_version for s in fleet.sims] == [
        OcppVersion.V16,
        OcppVersion.V21,
        OcppVersion.V16,
    ]
    assert all(len(s.evses) == 2 and s.config.max_power_w == 7400 for s in fleet.sims)
    assert fleet.sims[0].config.endpoint == "ws://x:1/ocpp/S-1"


async def test_cli_run_against_a_central_system(
    csms: CentralSystem, tmp_path: Path, capsys: Any
) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text("sessions:\n  - {charger: CP-1, at_s: 6, id_tag: CLI}\n")
    args = _args(
        "--url",
        csms.url,
        "--count",
        "2",
        "--ocpp",
        "2.0.1",
        "--time-scale",
        "60",
        "--meter-interval-s",
        "6",
        "--scenario",
        str(scenario),
        "--duration",
        "1.5",
    )
    assert await run(args) == 0
    assert set(csms.paths) == {"/ocpp/CP-1", "/ocpp/CP-2"}
    started = [e for e in csms.calls("TransactionEvent", "CP-1") if e["eventType"] == "Started"]
    assert started and started[0]["idToken"]["idToken"] == "CLI"


async def test_cli_reports_bad_input(capsys: Any) -> None:
    assert await run(_args("--ocpp", "3.0")) == 2
    assert "unknown OCPP version" in capsys.readouterr().err
