"""`pilebridge check-config` as a technician runs it: the weak-credential warnings that `run`,
/healthz and `status` give are printed too, and do not change the exit code."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from gateway.cli import main
from gateway.config import load_config
from gateway.foundation.charger_credentials import MIN_PASSWORD_CHARS, credential_warnings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "pilebridge.example.yaml"


def check_config(path: Path) -> tuple[int, str, str]:
    """`pilebridge check-config PATH` in its own process (as the systemd unit runs it)."""
    proc = subprocess.run(
        [sys.executable, "-m", "gateway", "check-config", str(path)],
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "120"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return proc.returncode, proc.stdout, proc.stderr


def site(host: str, chargers: str, *, extra: str = "") -> str:
    return f"site: {{id: s1}}\nocpp:\n  host: {host}\n{extra}  chargers:\n{chargers}"


def test_the_example_config_passes_with_its_warning_on_stderr() -> None:
    code, out, err = check_config(EXAMPLE)
    assert code == 0
    assert (
        out == f"{EXAMPLE}: OK (site lingang-01, 2 charger(s), 2 Modbus device(s), 1 warning(s))\n"
    )
    assert err == (
        f"{EXAMPLE}: warning: charger CP-2 has no password and ocpp listens on 0.0.0.0: "
        "anyone on the network can connect as it\n"
    )


def test_every_weak_credential_is_named_and_the_exit_code_stays_0(tmp_path: Path) -> None:
    path = tmp_path / "pb.yaml"
    path.write_text(
        site(
            "0.0.0.0",
            "    - {id: CP-OPEN}\n"
            "    - {id: CP-SHORT, password: short-pass}\n"
            "    - {id: CP-GOOD, password: a-long-enough-secret}\n",
            extra="  allow_unknown_chargers: true\n",
        )
    )
    code, out, err = check_config(path)
    assert code == 0
    assert out.endswith("3 charger(s), 0 Modbus device(s), 3 warning(s))\n")
    expected = credential_warnings(load_config(path).ocpp)  # the /healthz and `run` sentences
    assert err.splitlines() == [f"{path}: warning: {w}" for w in expected]
    assert "allow_unknown_chargers on 0.0.0.0" in err
    assert "charger CP-OPEN has no password" in err
    assert "charger CP-SHORT: password shorter than 16 characters" in err
    assert "CP-GOOD" not in err
    assert "short-pass" not in out + err  # a password is never printed


def test_a_loopback_listener_warns_only_about_short_passwords(tmp_path: Path) -> None:
    path = tmp_path / "pb.yaml"
    path.write_text(site("127.0.0.1", "    - {id: CP-OPEN}\n    - {id: CP-GOOD, password: x}\n"))
    code, out, err = check_config(path)
    assert (code, out.endswith("0 Modbus device(s), 1 warning(s))\n")) == (0, True)
    assert (
        err == f"{path}: warning: charger CP-GOOD: password shorter than 16 characters "
        "(the OCPP security profile minimum)\n"
    )


def test_a_config_without_weak_credentials_prints_no_warning(tmp_path: Path) -> None:
    path = tmp_path / "pb.yaml"
    path.write_text(site("0.0.0.0", "    - {id: CP-1, password: a-long-enough-secret}\n"))
    assert check_config(path) == (
        0,
        f"{path}: OK (site s1, 1 charger(s), 0 Modbus device(s))\n",
        "",
    )


def test_problems_still_exit_1_and_no_warning_is_printed_for_a_config_that_does_not_load(
    tmp_path: Path,
) -> None:
    path = tmp_path / "pb.yaml"
    path.write_text(site("0.0.0.0", "    - {id: CP-OPEN}\n", extra="  prot: 1\n"))
    code, out, err = check_config(path)
    assert (code, out) == (1, "")
    assert "ocpp.prot: unknown key" in err and "warning" not in err


@given(
    host=st.sampled_from(["127.0.0.1", "localhost", "::1", "0.0.0.0", "192.0.2.7", "gw.local"]),
    passwords=st.lists(
        st.none() | st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=24),
        min_size=1,
        max_size=4,
    ),
    allow_unknown=st.booleans(),
)
def test_check_config_prints_exactly_the_credential_warnings_and_exits_0(
    host: str, passwords: list[str | None], allow_unknown: bool
) -> None:
    lines = []
    for n, password in enumerate(passwords):
        secret = "" if password is None else f", password: '{password}'"
        lines.append(f"    - {{id: CP-{n}{secret}}}\n")
    text = site(f"'{host}'", "".join(lines), extra=f"  allow_unknown_chargers: {allow_unknown}\n")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pb.yaml"
        path.write_text(text)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["check-config", str(path)])
        expected = credential_warnings(load_config(path).ocpp)
    assert code == 0
    assert err.getvalue().splitlines() == [f"{path}: warning: {w}" for w in expected]
    short = [p for p in passwords if p is not None and len(p) < MIN_PASSWORD_CHARS]
    assert sum("password shorter" in w for w in expected) == len(short)
    assert out.getvalue().count("OK (") == 1
