"""OCPP 1.6J / 2.0.1 / 2.1 charge-point simulator: one charger or thousands, real sessions,
obedient to charging profiles, with faults and field quirks on demand.

    async with ChargerSim(ChargerConfig("CP-1", url="ws://127.0.0.1:9000/ocpp")) as sim:
        await sim.wait_booted()
        await sim.plug_in(evse=1, id_tag="04A2B3C4")
        print(sim.power_w(1), sim.soc_pct(1))
"""

from simulators.charger.config import ChargerConfig, OcppVersion
from simulators.charger.dialect import StopReason
from simulators.charger.ev import EvSpec
from simulators.charger.evse import ChargingSession, EvseStatus
from simulators.charger.faults import FaultInjector, NotConnectedError
from simulators.charger.fleet import ChargerFleet
from simulators.charger.recorder import CallRejectedError, ReceivedCall, SentCall
from simulators.charger.scenario import Scenario, load_scenario, parse_scenario
from simulators.charger.simclock import TimestampStyle
from simulators.charger.station import ChargerSim

__all__ = [
    "CallRejectedError",
    "ChargerConfig",
    "ChargerFleet",
    "ChargerSim",
    "ChargingSession",
    "EvSpec",
    "EvseStatus",
    "FaultInjector",
    "NotConnectedError",
    "OcppVersion",
    "ReceivedCall",
    "Scenario",
    "SentCall",
    "StopReason",
    "TimestampStyle",
    "load_scenario",
    "parse_scenario",
]
