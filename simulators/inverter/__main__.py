"""`python -m simulators.inverter`: the inverter / meter simulator on its own."""

from __future__ import annotations

import argparse
import asyncio
import sys

from gateway.foundation.logs import configure_logging

from .cli import add_arguments, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m simulators.inverter",
        description="Battery-inverter and grid-meter Modbus TCP simulator (SunSpec).",
    )
    add_arguments(parser)
    configure_logging("info")
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
