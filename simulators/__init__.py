"""Simulated site devices (charge points, battery inverters, meters) that behave like real peers."""
