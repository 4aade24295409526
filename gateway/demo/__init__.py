"""`pilebridge demo`: a whole simulated site on this machine, with no set-up."""

from gateway.demo.cli import add_arguments, run_demo

run = run_demo
"""The entry `gateway.cli` calls for a lazy command."""

__all__ = ["add_arguments", "run", "run_demo"]
