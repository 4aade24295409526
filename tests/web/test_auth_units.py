"""Password hashes, sessions, the login throttle and the page's config checks, without sockets."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.cli import main
from gateway.foundation.clock import FakeClock
from gateway.foundation.config import is_loopback_host
from gateway.foundation.passwords import (
    PasswordHashError,
    check_hash,
    hash_password,
    verify_password,
)
from gateway.web.hash_cli import run_hash_password
from gateway.web.sessions import LoginThrottle, SessionStore

CHEAP = {"n": 2**4, "r": 1, "p": 1}  # the format and code path of the real cost, fast


@settings(max_examples=40, deadline=None)
@given(password=st.text(min_size=1, max_size=80), other=st.text(max_size=80))
def test_a_hash_accepts_its_password_and_nothing_else(password: str, other: str) -> None:
    try:
        encoded = hash_password(password, **CHEAP)
    except UnicodeEncodeError:
        return  # lone surrogates cannot be typed into a form; they are refused, not hashed
    assert verify_password(password, encoded)
    assert verify_password(other, encoded) is (other == password)


@settings(max_examples=200, deadline=None)
@given(
    encoded=st.text(max_size=200)
    | st.from_regex(
        r"scrypt\$[0-9]{1,9}\$[0-9]{1,3}\$[0-9]{1,3}\$[A-Za-z0-9_=-]{0,30}\$[A-Za-z0-9_=-]{0,60}",
        fullmatch=True,
    )
)
def test_a_damaged_hash_never_verifies_and_never_raises(encoded: str) -> None:
    assert verify_password("anything", encoded) is False


def test_hashes_are_salted_and_costs_are_bounded() -> None:
    assert hash_password("same-password", **CHEAP) != hash_password("same-password", **CHEAP)
    with pytest.raises(PasswordHashError, match="cost"):
        check_hash("scrypt$1073741824$8$1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA")
    with pytest.raises(PasswordHashError, match="hash-password"):
        check_hash("$2b$12$bcrypt-is-not-supported")


def test_sessions_expire_and_the_table_is_bounded() -> None:
    clock = FakeClock()
    store = SessionStore(clock, ttl_s=100, limit=3)
    first = store.create("alice", "operator")
    assert store.get(first.token) is first and first.can_operate
    assert "token" not in repr(first).replace("token=", "") or first.token not in repr(first)
    assert first.csrf not in repr(first)
    for _ in range(3):
        store.create("bob", "viewer")
    assert store.get(first.token) is None  # the oldest went when the fourth came
    later = store.create("carol", "viewer")
    clock._mono += 101  # FakeClock.advance is async; the store only reads monotonic()
    assert store.get(later.token) is None
    assert store.get(None) is None and store.get("") is None


def test_the_throttle_counts_failures_per_key_in_a_window() -> None:
    clock = FakeClock()
    throttle = LoginThrottle(clock, max_failures=3, window_s=60)
    for _ in range(3):
        assert throttle.retry_after("peer:a", "user:x") == 0
        throttle.failed("peer:a", "user:x")
    assert throttle.retry_after("peer:a") == pytest.approx(60)
    assert throttle.retry_after("user:x", "peer:b") == pytest.approx(60)  # the user name too
    assert throttle.retry_after("peer:b") == 0
    clock._mono += 61
    assert throttle.retry_after("peer:a") == 0


def test_the_throttle_table_is_bounded() -> None:
    throttle = LoginThrottle(FakeClock(), max_failures=1, window_s=60, limit=10)
    for i in range(1000):
        throttle.failed(f"peer:{i}")
    assert len(throttle._keys) == 10


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.9.9.9", True), ("::1", True), ("[::1]", True),
     ("localhost", True), ("0.0.0.0", False), ("192.168.1.5", False), ("::", False),
     ("box.local", False), ("", False)],
)  # fmt: skip
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


def write(tmp_path: Path, http: str) -> Path:
    path = tmp_path / "pb.yaml"
    path.write_text(f"site: {{id: s1}}\nstate_dir: {tmp_path}\nhttp: {http}\n")
    return path


def test_check_config_refuses_an_open_page_off_loopback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", str(write(tmp_path, "{host: 0.0.0.0, ui: true}"))]) == 1
    err = capsys.readouterr().err
    assert "http: http.ui is on without http.users" in err
    assert "pilebridge hash-password" in err
    assert main(["check-config", str(write(tmp_path, "{host: 127.0.0.1, ui: true}"))]) == 0


def test_check_config_checks_users_and_reads_hashes_from_env(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = "{host: 0.0.0.0, ui: true, users: [{name: a, password_hash: plain-text, role: admin}]}"
    assert main(["check-config", str(write(tmp_path, bad))]) == 1
    err = capsys.readouterr().err
    assert "http.users[0].password_hash" in err and "hash-password" in err
    assert "plain-text" not in err  # a password typed into the wrong key is not echoed
    assert "http.users[0].role" in err
    monkeypatch.setenv("PB_HASH", hash_password("a-long-password", **CHEAP))
    good = (
        "{host: 0.0.0.0, ui: true, users: [{name: a, password_hash: !env PB_HASH, role: operator}]}"
    )
    assert main(["check-config", str(write(tmp_path, good))]) == 0


def test_hash_password_reads_stdin_and_prints_only_the_hash() -> None:
    out = io.StringIO()
    assert run_hash_password(io.StringIO("correct horse battery\n"), out) == 0
    encoded = out.getvalue().strip()
    assert verify_password("correct horse battery", encoded)
    assert run_hash_password(io.StringIO("short\n"), io.StringIO()) == 1
