"""`python -m simulators.charger --url ws://127.0.0.1:9000/ocpp --count 10`."""

from __future__ import annotations

import argparse
import asyncio
import sys

from simulators.charger.cli import add_arguments, run


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m simulators.charger")
    add_arguments(parser)
    try:
        return asyncio.run(run(parser.parse_args()))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
