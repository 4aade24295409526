"""`pilebridge demo`: a whole simulated site on this machine, with no set-up."""

from gateway.demo.cli import add_arguments, run_demo

__all__ = ["add_arguments", "run_demo"]
