"""The configuration schema. Unknown keys are errors: a typo must not pass silently on site."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from gateway.foundation.passwords import check_hash

__all__ = [
    "AuthorizeConfig",
    "ChargerConfig",
    "Config",
    "HomeAssistantConfig",
    "HttpConfig",
    "HttpUser",
    "LoggingConfig",
    "ModbusConfig",
    "ModbusDeviceConfig",
    "MqttConfig",
    "OcppConfig",
    "OutboxConfig",
    "SiteConfig",
    "TlsConfig",
    "UploadsConfig",
    "is_loopback_host",
    "split_broker_address",
]


def is_loopback_host(host: str) -> bool:
    """True for `localhost`, 127.0.0.0/8 and ::1 (with or without brackets)."""
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


Port = Annotated[int, Field(ge=1, le=65535)]
MqttProtocol = Literal["auto", "5", "3.1.1"]


def split_broker_address(address: str) -> tuple[str, int]:
    """`host:port` or `[v6-address]:port` into (host, port); ValueError says what is wrong."""
    host, sep, port_text = address.rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise ValueError(f"{address!r} is not host:port (e.g. broker-1.example.net:8883)")
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise ValueError(f"{address!r}: port {port} is not in 1..65535")
    if host.startswith("["):
        if not host.endswith("]"):
            raise ValueError(f"{address!r}: an IPv6 address goes in brackets, [::1]:1883")
        host = host[1:-1]
    if not host or any(c.isspace() or ord(c) < 32 for c in host) or "/" in host:
        raise ValueError(f"{address!r}: not a host name or address")
    return host, port


def _checked_broker_address(address: str) -> str:
    split_broker_address(address)
    return address


BrokerAddress = Annotated[str, AfterValidator(_checked_broker_address)]
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+$", min_length=1, max_length=64)]


def _not_empty(value: SecretStr) -> SecretStr:
    if not value.get_secret_value():
        raise ValueError("password is empty (an unset !env variable or an empty !file?)")
    return value


Password = Annotated[SecretStr, AfterValidator(_not_empty)]
"""A secret that must not be empty: `password: ""` (or an empty `!env`/`!file`) would let
anyone in as that user."""


def _require_unique(ids: list[str], what: str) -> None:
    seen: set[str] = set()
    for value in ids:
        if value in seen:
            raise ValueError(f"duplicate id {value!r} in {what}")
        seen.add(value)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SiteConfig(Strict):
    id: Identifier
    grid_import_limit_w: Annotated[float, Field(gt=0)] | None = None
    grid_export_limit_w: Annotated[float, Field(ge=0)] | None = None
    grid_meter: str | None = None
    """Modbus meter at the grid connection (a `modbus.devices[].id` of kind meter); default:
    the only meter, if there is exactly one."""
    controller_interval_s: Annotated[float, Field(gt=0, le=60)] = 2.0
    """How often the site controller re-plans (and site telemetry is published)."""
    controller_margin_w: Annotated[float, Field(ge=0)] = 1000.0
    """Kept below the import limit, so a load step does not overshoot at once."""
    grid_import_limit_a: Annotated[float, Field(gt=0)] | None = None
    """Per-phase fuse current at the grid connection (needs a meter reporting phase currents)."""
    controller_margin_a: Annotated[float, Field(ge=0)] = 1.5
    """Kept below `grid_import_limit_a` on every phase."""
    failsafe_charger_power_w: Annotated[float, Field(ge=0)] | None = None
    """Total charging power across all chargers while the grid reading is missing;
    None: each charger at its minimum current."""
    v2g: bool = False
    """Let bidirectional OCPP 2.1 chargers discharge EVs (above `v2g_soc_min_pct`)."""
    v2g_soc_min_pct: Annotated[float, Field(ge=0, le=100)] = 50.0
    """An EV reporting a lower SoC (or none) is never discharged."""
    min_change_interval_s: Annotated[float, Field(ge=0, le=3600)] = 10.0
    """A charger's share is raised at most this often (lowering is never delayed)."""
    pause_turn_s: Annotated[float, Field(gt=0, le=86_400)] = 300.0
    """Chargers paused for want of power take over from running ones after this long."""


class UploadsConfig(Strict):
    """Log files chargers upload (`get_logs`), kept under `state_dir/uploads/`."""

    max_bytes: Annotated[int, Field(ge=1024, le=2**31)] = 64 * 1024 * 1024
    """Largest file accepted; a bigger upload is refused with HTTP 413."""
    max_files: Annotated[int, Field(ge=1, le=10_000)] = 50
    """Files kept; the oldest are deleted beyond this."""
    link_ttl_s: Annotated[float, Field(gt=0, le=7 * 86_400)] = 24 * 3600.0
    """How long a one-time upload link stays valid."""


class HttpUser(Strict):
    """A user of the web page: `pilebridge hash-password` makes the hash."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.@-]+$", min_length=1, max_length=64)]
    password_hash: str
    role: Literal["viewer", "operator"] = "viewer"
    """`viewer` sees the page; `operator` may also send commands from its panel."""

    @field_validator("password_hash")
    @classmethod
    def _hash_usable(cls, value: str) -> str:
        check_hash(value)
        return value


class HttpConfig(Strict):
    """Health (`GET /healthz`), metrics (`GET /metrics`) and the web page (`http.ui`)."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8080
    """0: an ephemeral port (tests); the bound port is logged and kept on the server."""
    public_url: Annotated[str, Field(pattern=r"^https?://[^/\s]+(/\S*)?$")] | None = None
    """How chargers reach this server (firmware downloads, log uploads), e.g.
    `http://192.168.1.10:8080`; default: built from host and port."""
    files: Path | None = None
    """Directory of firmware images served read-only at `{public_url}/files/{name}`."""
    uploads: UploadsConfig = Field(default_factory=lambda: UploadsConfig())
    ui: bool = False
    """Serve the technician's web page at `/` (docs/web.md)."""
    users: list[HttpUser] = []
    """Who may log in to the page. Empty: no login, allowed only when `host` is loopback."""
    session_ttl_s: Annotated[float, Field(ge=60, le=7 * 86_400)] = 12 * 3600
    """How long a login lasts."""

    @model_validator(mode="after")
    def _page_protected(self) -> HttpConfig:
        _require_unique([u.name for u in self.users], "http.users")
        if self.ui and not self.users and not is_loopback_host(self.host):
            raise ValueError(
                f"http.ui is on without http.users, so anyone who reaches {self.host} could "
                "operate the site: add users (password hashes from 'pilebridge hash-password') "
                "or keep http.host on loopback (127.0.0.1)"
            )
        return self


class HomeAssistantConfig(Strict):
    """Home Assistant MQTT discovery: chargers, EVSEs, batteries and meters as HA devices."""

    enabled: bool = False
    discovery_prefix: Annotated[str, Field(pattern=r"^[^#+]+$", min_length=1)] = "homeassistant"
    """Where HA listens for discovery (HA's own setting of the same name)."""


class TlsConfig(Strict):
    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None
    insecure: bool = False
    """Skip certificate name checks (commissioning only)."""


class OutboxConfig(Strict):
    max_records: Annotated[int, Field(ge=100)] = 1_000_000
    """Bound on records waiting for the broker; past it the oldest telemetry is dropped."""
    max_bytes: Annotated[int, Field(ge=1024 * 1024)] = 256 * 1024 * 1024
    """Bound on their payload bytes, the same way. Records never dropped (transactions,
    events, state) are refused once they alone fill either bound (logged, counted)."""
    max_memory_bytes: Annotated[int, Field(ge=1024 * 1024)] = 32 * 1024 * 1024
    """Records kept in memory while the disk refuses writes; past it the oldest telemetry
    is dropped, then new records are refused."""
    durable_timeout_s: Annotated[float, Field(gt=0, le=300)] = 10.0
    """How long a transaction event (or another record never dropped) may wait for the
    disk; then it is withdrawn and the charger is answered with an error, so it retries."""
    restart_after_s: Annotated[float, Field(ge=0)] = 300.0
    """Commits failing this long: stop feeding the systemd watchdog so systemd restarts the
    gateway. 0: never."""
    synchronous: Literal["normal", "full"] = "full"
    """SQLite sync level: `full` survives power loss, `normal` only a process crash."""
    batch_size: Annotated[int, Field(ge=1, le=10_000)] = 500


class MqttConfig(Strict):
    enabled: bool = True
    """False: no broker; records wait in the outbox (bounded) until one is configured."""
    host: str = "127.0.0.1"
    port: Port = 1883
    hosts: Annotated[list[BrokerAddress], Field(min_length=1, max_length=16)] | None = None
    """Several brokers (the nodes of a cluster), tried in order: `["host:port", ...]`. When a
    connection drops the gateway moves on to the next. Instead of `host`/`port`."""
    protocol: MqttProtocol = "auto"
    """`auto`: MQTT 5, falling back to 3.1.1 when a broker refuses 5; or `5`, or `3.1.1`."""
    topic_prefix: Annotated[str, Field(pattern=r"^[^#+\x00-\x1f\x7f-\x9f]+$", min_length=1)] = (
        "pilebridge"
    )
    username: str | None = None
    password: Password | None = None
    client_id: str | None = None
    keepalive_s: Annotated[int, Field(ge=5, le=3600)] = 30
    tls: TlsConfig | None = None
    session_expiry_s: Annotated[int, Field(ge=0)] = 0
    """0: a clean session on every connect, so commands sent while the gateway was away are
    not replayed late; >0 keeps the session (clean_start is then off explicitly)."""
    reconnect_min_s: Annotated[float, Field(gt=0)] = 0.5
    reconnect_max_s: Annotated[float, Field(gt=0)] = 30.0
    max_inflight: Annotated[int, Field(ge=1, le=65535)] = 200
    max_record_bytes: Annotated[int, Field(ge=1024, le=256 * 1024 * 1024)] = 128 * 1024
    """Largest record published. A larger event is published with its `data` cut
    (`data_truncated: true`); one still too large is refused. The broker's own Maximum
    Packet Size (MQTT 5 CONNACK) is honoured as well, whichever is smaller."""
    outbox: OutboxConfig = Field(default_factory=OutboxConfig)

    @field_validator("protocol", mode="before")
    @classmethod
    def _protocol_as_text(cls, value: object) -> object:
        # YAML reads `protocol: 5` as a number; `3.1.1` stays text.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _one_way_to_name_brokers(self) -> MqttConfig:
        if self.hosts is not None and {"host", "port"} & self.model_fields_set:
            raise ValueError("give either `hosts` or `host`/`port`, not both")
        return self

    @property
    def brokers(self) -> list[tuple[str, int]]:
        """Every broker to try, in order, as (host, port)."""
        if self.hosts is None:
            return [(self.host, self.port)]
        return [split_broker_address(address) for address in self.hosts]


class AuthorizeConfig(Strict):
    accept_all: bool = False
    tags: list[str] = []
    """Tags that are always accepted; `P/site/cmd/tags` adds and removes others at run time."""
    sync_local_list: bool = False
    """Keep every charger's local authorisation list equal to the site's tags (SendLocalList)."""


ProvisionValue = str | int | float | bool


class ChargerConfig(Strict):
    id: Annotated[str, Field(min_length=1, max_length=128)]
    password: Password | None = None
    """HTTP Basic password (security profile 1 and 2); None: no Basic auth required."""
    security_profile: Literal[0, 1, 2, 3] | None = None
    """0: none, 1: Basic over ws, 2: Basic over TLS, 3: client certificate. Default: 1 with a password, else 0."""
    max_power_w: Annotated[float, Field(gt=0)] = 22000
    phases: Literal[1, 2, 3] = 3
    voltage_v: Annotated[float, Field(gt=0)] = 230.0
    rate_unit: Literal["W", "A"] | None = None
    """The only unit this charger accepts in charging profiles; None: the command's unit."""
    bidirectional: bool = False
    """The charger can discharge (V2G); negative limits are sent on OCPP 2.1 only."""
    grid_phases: list[Literal["L1", "L2", "L3"]] | None = None
    """The grid phases its L1, L2, L3 are wired to (rotation), one per charger phase, e.g.
    `[L2, L3, L1]`, or `[L3]` for a single-phase charger. Default: L1, L2, L3 in order."""
    min_current_a: Annotated[float, Field(ge=0, le=80)] = 6.0
    """Below this an EV stops charging: the site controller pauses the charger instead."""
    priority: Annotated[int, Field(ge=0, le=100)] = 0
    """Higher is served first when the site controller shares power."""
    ping_interval_s: Annotated[float, Field(ge=0)] | None = None
    """Websocket ping interval for this charger; None: `ocpp.ping_interval_s`; 0: no pings
    (for chargers that ignore pings and would be disconnected for it)."""
    ping_timeout_s: Annotated[float, Field(gt=0)] | None = None
    """Time to wait for a pong before closing; None: `ocpp.ping_timeout_s`."""
    provision: dict[Annotated[str, Field(min_length=1, max_length=160)], ProvisionValue] = {}
    """Configuration applied after every boot where the charger's value differs
    (1.6 keys; 2.x `Component/Variable`)."""
    boot: Literal["accept", "pending"] = "accept"
    """`pending`: BootNotification is answered Pending until provisioning is done."""

    @field_validator("id")
    @classmethod
    def _printable_id(cls, value: str) -> str:
        """Ids become URL paths, log fields and MQTT topics: no control characters."""
        if not value.isprintable() or value != value.strip():
            raise ValueError(f"charger id {value!r} holds control characters or surrounding blanks")
        return value

    @model_validator(mode="after")
    def _grid_phases(self) -> ChargerConfig:
        wired = self.grid_phases
        if wired is not None and (len(wired) != self.phases or len(set(wired)) != len(wired)):
            raise ValueError(
                f"charger {self.id!r}: grid_phases must name {self.phases} distinct phase(s)"
            )
        return self

    @property
    def wired_phases(self) -> tuple[str, ...]:
        return tuple(self.grid_phases or ("L1", "L2", "L3")[: self.phases])


class OcppTlsConfig(Strict):
    cert: Path
    key: Path
    ca: Path | None = None
    """CA for client certificates (security profile 3)."""


class OcppRateLimit(Strict):
    """Per charger: what one connection may send (token buckets refilled at these rates)."""

    messages_per_s: Annotated[float, Field(gt=0)] = 20.0
    bytes_per_s: Annotated[float, Field(gt=0)] = 256 * 1024.0
    burst_s: Annotated[float, Field(gt=0, le=3600)] = 10.0
    """Bucket size in seconds of rate: a charger flushing its offline queue may go faster
    this long."""


class OcppConfig(Strict):
    enabled: bool = True
    host: str = "0.0.0.0"
    port: Annotated[int, Field(ge=0, le=65535)] = 9000
    tls: OcppTlsConfig | None = None
    allow_unknown_chargers: bool = False
    authorize: AuthorizeConfig = Field(default_factory=AuthorizeConfig)
    chargers: list[ChargerConfig] = []
    heartbeat_interval_s: Annotated[int, Field(ge=10, le=86400)] = 300
    meter_interval_s: Annotated[int, Field(ge=0, le=3600)] = 60
    ping_interval_s: Annotated[float, Field(ge=0)] | None = 60.0
    """Websocket ping interval; None or 0 disables pings for chargers that ignore them."""
    ping_timeout_s: Annotated[float, Field(gt=0)] | None = 60.0
    call_timeout_s: Annotated[float, Field(gt=0, le=300)] = 30.0
    max_frame_bytes: Annotated[int, Field(ge=4096, le=16 * 1024 * 1024)] = 1024 * 1024
    """Largest websocket message accepted from a charger (NotifyReport can be large)."""
    max_message_elements: Annotated[int, Field(ge=100, le=1_000_000)] = 10_000
    """JSON values in one message from a charger; beyond: a CALLERROR (bounds the work per frame)."""
    max_message_depth: Annotated[int, Field(ge=8, le=200)] = 32
    """Nesting of objects/arrays in one message; beyond: a CALLERROR."""
    max_queued_commands: Annotated[int, Field(ge=1, le=1000)] = 16
    """Commands waiting for one charger; beyond: `rejected` ("queue full")."""
    rate_limit: OcppRateLimit = Field(default_factory=OcppRateLimit)
    max_connections: Annotated[int, Field(ge=1, le=1_000_000)] = 10_000
    """Chargers connected at once; one more is refused with HTTP 503 before the websocket
    handshake (the charger retries later). Lowered at start to what the process's open-file
    limit leaves after the gateway's own descriptors."""
    compression: bool = False
    """permessage-deflate (RFC 7692) on charger connections. Off: it costs ~60 KB of zlib
    state and CPU per frame per charger; on only for chargers on metered cellular links."""
    allow_raw_calls: bool = False
    """Enable the `ocpp` command (any CSMS-to-charger call, schema-checked, logged)."""

    @model_validator(mode="after")
    def _unique_ids(self) -> OcppConfig:
        _require_unique([c.id for c in self.chargers], "chargers")
        return self

    @model_validator(mode="after")
    def _security_profiles(self) -> OcppConfig:
        """Profiles 1/2 need a password, 2/3 a TLS listener, 3 a CA for client certificates."""
        for charger in self.chargers:
            profile = charger.security_profile
            if profile in (1, 2) and charger.password is None:
                raise ValueError(
                    f"charger {charger.id!r}: security_profile {profile} needs a password"
                )
            if profile in (2, 3) and self.tls is None:
                raise ValueError(
                    f"charger {charger.id!r}: security_profile {profile} needs ocpp.tls"
                )
            if profile == 3 and self.tls is not None and self.tls.ca is None:
                raise ValueError(f"charger {charger.id!r}: security_profile 3 needs ocpp.tls.ca")
        return self


class ModbusDeviceConfig(Strict):
    id: Identifier
    kind: Literal["storage", "meter"]
    host: str
    port: Port = 502
    unit_id: Annotated[int, Field(ge=0, le=255)] = 1
    profile: str = "sunspec"
    """`sunspec` (auto-discovery) or a register-map file, relative to `config/registers/` or absolute."""
    poll_interval_s: Annotated[float, Field(ge=0.1, le=3600)] = 1.0
    timeout_s: Annotated[float, Field(gt=0, le=60)] = 1.0
    max_charge_w: Annotated[float, Field(ge=0)] | None = None
    max_discharge_w: Annotated[float, Field(ge=0)] | None = None
    soc_min_pct: Annotated[float, Field(ge=0, le=100)] = 10.0
    soc_max_pct: Annotated[float, Field(ge=0, le=100)] = 95.0
    fallback_power_w: float = 0.0
    revert_timeout_s: Annotated[float, Field(ge=0)] = 60.0
    """Written to the device's own reversion timer so it fails safe if the gateway dies.
    The gateway rewrites the setpoint every third of this; 0: no device timer (not advised)."""
    invert_power: bool = False
    """Negate the device's power readings for devices that report the opposite
    sign from their profile (e.g. meters that count export as positive)."""
    capacity_wh: Annotated[float, Field(gt=0)] | None = None
    """Usable battery capacity: lets `site/flexibility` say how long a power can be held."""
    initial_mode: Literal["idle", "manual", "auto"] = "manual"
    """Storage mode at start: `manual` takes setpoints from MQTT, `auto` leaves the battery to
    the site controller (or the device's own logic), `idle` holds it at 0 W."""

    @model_validator(mode="after")
    def _soc_window(self) -> ModbusDeviceConfig:
        if self.soc_min_pct >= self.soc_max_pct:
            raise ValueError("soc_min_pct must be below soc_max_pct")
        return self


class ModbusConfig(Strict):
    devices: list[ModbusDeviceConfig] = []

    @model_validator(mode="after")
    def _unique_ids(self) -> ModbusConfig:
        _require_unique([d.id for d in self.devices], "devices")
        return self


class LoggingConfig(Strict):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"
    """auto: readable on a terminal, JSON lines otherwise (journald, files)."""


class Config(Strict):
    site: SiteConfig
    state_dir: Path = Path("/var/lib/pilebridge")
    http: HttpConfig = Field(default_factory=HttpConfig)
    homeassistant: HomeAssistantConfig = Field(default_factory=HomeAssistantConfig)
    mqtt: MqttConfig = Field(default_factory=MqttConfig)
    ocpp: OcppConfig = Field(default_factory=OcppConfig)
    modbus: ModbusConfig = Field(default_factory=ModbusConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)

    @model_validator(mode="after")
    def _grid_meter_exists(self) -> Config:
        meters = [d.id for d in self.modbus.devices if d.kind == "meter"]
        if self.site.grid_meter is not None and self.site.grid_meter not in meters:
            raise ValueError(
                f"site.grid_meter {self.site.grid_meter!r} is not a meter in modbus.devices"
                f" (meters: {', '.join(meters) or 'none'})"
            )
        return self

    @property
    def grid_meter_id(self) -> str | None:
        """The meter at the grid connection, if the site has one."""
        meters = [d.id for d in self.modbus.devices if d.kind == "meter"]
        return self.site.grid_meter or (meters[0] if len(meters) == 1 else None)
