"""The command line: options parse, the simulator binds, logs its port and stops on time."""

from __future__ import annotations

import argparse

import pytest
from pymodbus.client import AsyncModbusTcpClient
from structlog.testing import capture_logs

from simulators.inverter import InverterSimulator, MappedSimulator, MeterSimulator
from simulators.inverter.cli import add_arguments, build, run


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_defaults_and_profiles() -> None:
    args = parse()
    assert (args.host, args.port, args.profile, args.unit_id, args.base) == (
        "127.0.0.1", 5020, "sunspec", 1, 40000,
    )  # fmt: skip
    sim = build(parse("--profile", "sunspec-legacy", "--capacity-wh", "20000", "--soc-pct", "80"))
    assert isinstance(sim, InverterSimulator)
    assert sim.battery.params.capacity_wh == 20_000
    assert sim.battery.soc_pct == pytest.approx(80)
    assert isinstance(build(parse("--profile", "meter")), MeterSimulator)
    mapped = build(parse("--register-map", "victron-gx-ess"))
    assert isinstance(mapped, MappedSimulator) and sorted(mapped.units) == [100, 227]
    with pytest.raises(SystemExit):
        parse("--profile", "unknown")


async def test_run_serves_until_duration() -> None:
    args = parse("--port", "0", "--duration", "0.5", "--meter-unit-id", "2")
    with capture_logs() as logs:
        assert await run(args) == 0
    ready = [e for e in logs if e["event"] == "sim_inverter_ready"]
    assert len(ready) == 1 and ready[0]["port"] > 0


async def test_run_reports_a_port_in_use() -> None:
    async with InverterSimulator() as sim:
        assert await run(parse("--port", str(sim.port), "--duration", "0.1")) == 1
        client = AsyncModbusTcpClient("127.0.0.1", port=sim.port, timeout=1, retries=0)
        assert await client.connect()
        client.close()


async def test_run_refuses_an_unknown_register_map() -> None:
    assert await run(parse("--port", "0", "--register-map", "no-such-map")) == 2
