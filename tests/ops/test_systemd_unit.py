"""systemd/pilebridge.service: `systemd-analyze verify` is clean, and the unit keeps its promises."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "systemd" / "pilebridge.service"
INSTALLED_BINARY = "/opt/pilebridge/venv/bin/pilebridge"


def directives(text: str) -> dict[str, list[str]]:
    """`Section.Key` -> every value (systemd allows repeating a key)."""
    found: dict[str, list[str]] = {}
    section = ""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        found.setdefault(f"{section}.{key}", []).append(value)
    return found


def one(d: dict[str, list[str]], key: str) -> str:
    values = d.get(key)
    assert values, f"{key} missing"
    return values[-1]


def verify(unit: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def verifiable_unit(tmp_path: Path) -> Path:
    """The unit with its binary path pointed at a real executable (verify checks it exists)."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not installed (apt-get install systemd; .ci/run does)")
    binary = tmp_path / "pilebridge"
    binary.write_text(f"#!{sys.executable}\nimport sys\nsys.exit(0)\n")
    binary.chmod(0o755)
    text = UNIT.read_text().replace(INSTALLED_BINARY, str(binary))
    unit = tmp_path / "pilebridge.service"
    unit.write_text(text)
    return unit


def test_systemd_analyze_verify_is_clean(verifiable_unit: Path) -> None:
    result = verify(verifiable_unit)
    output = (result.stdout + result.stderr).strip()
    # verify exits 0 on unknown keys and bad values, it only warns: any output is a finding.
    assert result.returncode == 0 and not output, output


def test_verify_catches_a_broken_unit(verifiable_unit: Path) -> None:
    broken = verifiable_unit.read_text().replace("Type=notify", "Type=notfy\nWatchdogSecs=1")
    verifiable_unit.write_text(broken)
    result = verify(verifiable_unit)
    assert "notfy" in result.stderr and "WatchdogSecs" in result.stderr


def test_unit_runs_the_daemon_as_documented() -> None:
    d = directives(UNIT.read_text())
    assert one(d, "Service.Type") == "notify"
    assert one(d, "Service.WatchdogSec")
    assert one(d, "Service.Restart") == "on-failure"
    assert (
        one(d, "Service.ExecStart") == f"{INSTALLED_BINARY} run -c /etc/pilebridge/pilebridge.yaml"
    )
    assert (
        one(d, "Service.ExecStartPre")
        == f"{INSTALLED_BINARY} check-config /etc/pilebridge/pilebridge.yaml"
    )
    assert one(d, "Service.User") == "pilebridge"
    assert one(d, "Service.StateDirectory") == "pilebridge"
    assert one(d, "Service.ConfigurationDirectory") == "pilebridge"
    install = (ROOT / "docs" / "install.md").read_text()
    assert INSTALLED_BINARY in install and "/etc/pilebridge/pilebridge.yaml" in install


def test_unit_is_hardened_and_grants_no_capability_by_default() -> None:
    d = directives(UNIT.read_text())
    assert one(d, "Service.ProtectSystem") == "strict"
    assert one(d, "Service.NoNewPrivileges") == "yes"
    assert one(d, "Service.PrivateTmp") == "yes"
    assert one(d, "Service.CapabilityBoundingSet") == ""
    assert one(d, "Service.AmbientCapabilities") == ""
    assert "CAP_NET_BIND_SERVICE" in UNIT.read_text()  # documented, commented, for ports < 1024


def test_watchdog_fits_the_daemons_ping_interval() -> None:
    """The daemon pings at half of WATCHDOG_USEC; the stop timeout covers the outbox flush."""
    d = directives(UNIT.read_text())
    watchdog_s = int(one(d, "Service.WatchdogSec").removesuffix("s"))
    stop_s = int(one(d, "Service.TimeoutStopSec").removesuffix("s"))
    assert watchdog_s >= 10
    assert stop_s > 5  # MqttLink.stop flushes for up to 5 s


def test_security_exposure_stays_low(verifiable_unit: Path) -> None:
    """`systemd-analyze security` scores the sandbox; 0 is locked down, 10 is unprotected."""
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--threshold=25", str(verifiable_unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    last = result.stdout.strip().splitlines()[-1]
    assert "Overall exposure level" in last
    assert result.returncode == 0, last  # non-zero when the exposure is above 2.5


def test_open_file_limit_holds_a_5000_charger_site() -> None:
    """Every charger is a socket: the unit's LimitNOFILE must leave room for 5,000+ of them
    after the gateway's own descriptors (the daemon cannot raise it: @resources is filtered)."""
    from drivers.ocpp.server import connection_bound

    d = directives(UNIT.read_text())
    limit = int(one(d, "Service.LimitNOFILE"))
    assert connection_bound(10_000, limit) >= 5_000
    assert "~@privileged @resources" in d["Service.SystemCallFilter"][-1]  # hardening kept
    assert "LimitNOFILE" in (ROOT / "docs" / "install.md").read_text()
