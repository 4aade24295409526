"""What one simulated charge point is: identity, hardware, protocol version and timing."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

from gateway.foundation.model.versions import OcppVersion

__all__ = ["ChargerConfig", "OcppVersion", "parse_versions"]


def parse_versions(text: str) -> list[OcppVersion]:
    """Parse "1.6", "2.0.1,2.1" or "1.6J" into versions, in the given order."""
    versions: list[OcppVersion] = []
    for item in text.split(","):
        name = item.strip().removeprefix("ocpp").rstrip("jJ")
        if name == "2.0":
            name = "2.0.1"
        try:
            versions.append(OcppVersion(name))
        except ValueError:
            raise ValueError(
                f"unknown OCPP version {item.strip()!r} (use 1.6, 2.0.1 or 2.1)"
            ) from None
    if not versions:
        raise ValueError("no OCPP version given")
    return versions


@dataclass(frozen=True)
class ChargerConfig:
    """One charge point.

    Every duration is in *simulated* seconds; `time_scale` says how many simulated seconds pass
    per real second, so a test can run an hour of charging in a minute. Reconnect backoff is in
    real seconds: it is about the network, not the EV.
    """

    charger_id: str
    url: str = "ws://127.0.0.1:9000/ocpp"
    ocpp_version: OcppVersion = OcppVersion.V16
    evse_count: int = 1
    phases: int = 3
    max_power_w: float = 22_000.0
    voltage_v: float = 230.0
    vendor: str = "PileBridge"
    model: str = "SimCharger"
    firmware: str = "1.0.0"
    serial: str = ""
    password: str | None = None
    meter_interval_s: float = 60.0
    heartbeat_interval_s: float = 300.0
    time_scale: float = 1.0
    bidirectional: bool = False
    max_discharge_w: float | None = None
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 30.0
    response_timeout_s: float = 30.0
    boot_on_reconnect: bool = False
    offline_queue_limit: int = 10_000
    record_limit: int = 1000  # CALLs kept each way in `sim.received` / `sim.sent`
    extra_headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.charger_id:
            raise ValueError("charger_id must not be empty")
        if self.evse_count < 1:
            raise ValueError("evse_count must be at least 1")
        if self.phases not in (1, 2, 3):
            raise ValueError("phases must be 1, 2 or 3")
        if self.time_scale <= 0 or self.meter_interval_s <= 0:
            raise ValueError("time_scale and meter_interval_s must be positive")

    @property
    def endpoint(self) -> str:
        """The URL this charge point connects to: base URL + percent-encoded id."""
        return f"{self.url.rstrip('/')}/{quote(self.charger_id, safe='')}"

    @property
    def serial_number(self) -> str:
        return self.serial or f"SN-{self.charger_id}"

    @property
    def discharge_limit_w(self) -> float:
        """Largest V2G power; zero unless the hardware is bidirectional."""
        if not self.bidirectional:
            return 0.0
        return self.max_power_w if self.max_discharge_w is None else self.max_discharge_w
