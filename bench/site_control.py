"""The site controller in closed loop through load steps: overshoot above the limit, how long,
and the settling time.

The closed-loop site of the end-to-end tests (gateway.demo.closed_loop): four 11 kW chargers
with EVs that obey their profiles, a 30 kW battery and a grid meter reading base load +
chargers + battery, polled every 0.2 s; the controller runs every 0.5 s. The base load steps
through a sequence; the grid reading is sampled every 0.1 s. Per step: the worst overshoot
above the import limit, how long the grid stayed above it, and the settling time (from the
step until the grid is back under the limit for the rest of the step).

Runs: `battery` (60 % SoC, in auto), `no battery` (empty: chargers alone), `explicit` (no
battery, and the control centre has sent every charger an explicit `charger_max` of 40 kW at
stack level 2, above the controller's shares), and the baseline measured in the same run: the
same steps with no import limit (nobody controlling), which is what the site would draw.
Prints a table; asserts nothing.

    .venv/bin/python -m bench.site_control [--hold 12]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import structlog

from gateway.demo.closed_loop import SimCharger, site_loop
from simulators.charger import OcppVersion

LIMIT_W = 45_000.0
STEPS_W = (10_000.0, 30_000.0, 15_000.0, 40_000.0, 20_000.0)
"""Base load steps; with 4 x 11 kW charging the site wants 54..84 kW against 45 kW."""
CHARGERS = [
    SimCharger(f"CP-{i}", OcppVersion.V16 if i % 2 else OcppVersion.V201) for i in range(1, 5)
]


@dataclass
class StepFigures:
    base_w: float
    worst_over_w: float
    over_s: float
    settle_s: float | None


async def run(
    soc_pct: float, limit_w: float | None, hold_s: float, explicit_w: float | None = None
) -> list[StepFigures]:
    site = {"grid_import_limit_w": limit_w}
    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        async with site_loop(
            Path(tmp), CHARGERS, soc_pct=soc_pct, base_w=STEPS_W[0], site=site
        ) as loop:
            await loop.settle(lambda: loop.chargers_w() > 40_000, 60)
            if explicit_w is not None:
                for sim in loop.fleet:
                    body = {"purpose": "charger_max", "power_w": explicit_w}
                    await loop.command("charger", sim.config.charger_id, "limit", body)
            for base in STEPS_W:
                loop.meter.meter.site.base_load = base
                samples: list[tuple[float, float]] = []
                start = asyncio.get_running_loop().time()
                while (now := asyncio.get_running_loop().time()) - start < hold_s:
                    samples.append((now - start, loop.meter.power_w))
                    await asyncio.sleep(0.1)
                figures.append(_figures(base, samples))
    return figures


def _figures(base: float, samples: list[tuple[float, float]]) -> StepFigures:
    over = [(t, w - LIMIT_W) for t, w in samples if w > LIMIT_W]
    worst = max((o for _, o in over), default=0.0)
    over_s = len(over) * 0.1
    last_over = max((t for t, _ in over), default=None)
    settle = None if last_over is None else last_over + 0.1
    if last_over is not None and last_over >= samples[-1][0] - 0.2:
        settle = float("nan")  # still over at the end of the step
    return StepFigures(base, worst, over_s, settle)


def _print(name: str, figures: list[StepFigures]) -> None:
    for f in figures:
        settle = (
            "-"
            if f.settle_s is None
            else ("not settled" if f.settle_s != f.settle_s else f"{f.settle_s:.1f} s")
        )
        print(
            f"{name:<12} {f.base_w / 1000:>6.0f} kW {f.worst_over_w / 1000:>10.1f} kW {f.over_s:>8.1f} s {settle:>12}"
        )
    worst = max(figures, key=lambda f: f.worst_over_w)
    print(
        f"{name:<12} worst overshoot {worst.worst_over_w / 1000:.1f} kW, above the limit "
        f"{sum(f.over_s for f in figures):.1f} s in all"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hold", type=float, default=12.0, help="seconds per load step")
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    print(
        f"limit {LIMIT_W / 1000:.0f} kW, margin 1 kW, controller 0.5 s, meter poll 0.2 s, "
        f"4 x 11 kW EVs, steps {', '.join(f'{s / 1000:.0f}' for s in STEPS_W)} kW base load"
    )
    print(f"{'run':<12} {'base':>9} {'worst over':>13} {'over for':>10} {'settling':>12}")
    _print("baseline", await run(60.0, None, args.hold))
    _print("battery", await run(60.0, LIMIT_W, args.hold))
    _print("no battery", await run(8.0, LIMIT_W, args.hold))
    _print("explicit", await run(8.0, LIMIT_W, args.hold, explicit_w=40_000.0))


if __name__ == "__main__":
    asyncio.run(main())
