"""Secrets in the config: never echoed, never empty, read as text; ids without control chars."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config import ConfigError, parse_config

ROOT = Path(__file__).resolve().parents[2]


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    return [str(p) for p in caught.value.problems]


def test_a_numeric_password_is_refused_without_echoing_it() -> None:
    found = problems("site: {id: s}\nmqtt:\n  password: 98765432\n")
    assert found and all("98765432" not in p for p in found)
    assert any(p.startswith("mqtt.password") for p in found)


def test_check_config_never_prints_a_secret(tmp_path: Path) -> None:
    path = tmp_path / "pb.yaml"
    path.write_text(
        "site: {id: s}\nmqtt:\n  password: 98765432\nocpp:\n"
        "  chargers:\n    - {id: CP-1, password: 1234567890123456}\n"
    )
    for command in (["check-config", str(path)], ["run", "-c", str(path)]):
        done = subprocess.run(
            [sys.executable, "-m", "gateway", *command],
            cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode != 0
        output = done.stdout + done.stderr
        assert "98765432" not in output and "1234567890123456" not in output, output
        assert "Traceback" not in output


@pytest.mark.parametrize(
    "text",
    [
        "site: {id: s}\nmqtt:\n  password: ''\n",
        "site: {id: s}\nocpp:\n  chargers:\n    - {id: CP-1, password: ''}\n",
    ],
    ids=["mqtt", "charger"],
)
def test_an_empty_password_is_refused(text: str) -> None:
    assert any("password" in p for p in problems(text))


def test_an_empty_secret_from_env_or_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PB_EMPTY", "")
    empty = tmp_path / "empty"
    empty.write_text("\n")
    assert any(
        "mqtt.password" in p for p in problems("site: {id: s}\nmqtt: {password: !env PB_EMPTY}\n")
    )
    assert any(
        "mqtt.password" in p
        for p in problems(f"site: {{id: s}}\nmqtt: {{password: !file {empty}}}\n")
    )


def test_a_secret_file_that_is_not_utf8_gives_one_clear_line(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(b"\xff\xfe\x00latin-1 \xe9t\xe9")
    (found,) = problems(f"site: {{id: s}}\nmqtt: {{password: !file {secret}}}\n")
    assert found == f"mqtt.password: secret file {secret} is not UTF-8 text"


@pytest.mark.parametrize("bad", ["EVIL\\x01", "CP\\x7f", "CP\\u0085", "tab\\there"])
def test_ids_with_control_characters_are_refused(bad: str) -> None:
    found = problems(f'site: {{id: s}}\nocpp:\n  chargers:\n    - {{id: "{bad}"}}\n')
    assert any(p.startswith("ocpp.chargers[0].id") for p in found)


def test_a_topic_prefix_with_a_control_character_is_refused() -> None:
    assert any(
        "topic_prefix" in p for p in problems('site: {id: s}\nmqtt: {topic_prefix: "a\\x01"}\n')
    )
