"""A small control centre for a fleet of sites: discovery, `seq` checks, commands."""

from simulators.control_centre.client import CommandOutcome, ControlCentre, SiteView
from simulators.control_centre.seq_tracker import SeqTracker

__all__ = ["CommandOutcome", "ControlCentre", "SeqTracker", "SiteView"]
