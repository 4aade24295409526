from __future__ import annotations

from pathlib import Path

import pytest

from drivers.registry import check_config as check_driver_config
from gateway.cli import main
from gateway.config import ConfigError, load_config, parse_config

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "pilebridge.example.yaml"

MINIMAL = "site: {id: s1}\n"


def problems(text: str) -> list[str]:
    """Every problem, the drivers' own checks included (as `check-config` and `run` see them)."""
    with pytest.raises(ConfigError) as info:
        parse_config(text, checks=(check_driver_config,))
    return [str(p) for p in info.value.problems]


def test_example_config_is_valid() -> None:
    config = load_config(EXAMPLE)
    assert config.site.id == "lingang-01"
    assert [c.id for c in config.ocpp.chargers] == ["CP-1", "CP-2"]
    assert config.modbus.devices[0].kind == "storage"


def test_minimal_config_takes_defaults() -> None:
    config = parse_config(MINIMAL)
    assert config.mqtt.port == 1883
    assert config.mqtt.topic_prefix == "pilebridge"
    assert config.ocpp.allow_unknown_chargers is False


def test_typo_key_is_an_error_with_a_suggestion() -> None:
    found = problems("site: {id: s1}\nmqtt: {hots: broker, prot: 1883}\n")
    assert found == [
        "mqtt.hots: unknown key (did you mean 'hosts'?)",
        "mqtt.prot: unknown key (did you mean 'port'?)",
    ]


def test_wrong_type_names_the_key_path_in_a_list() -> None:
    text = (
        MINIMAL
        + "modbus:\n  devices:\n    - {id: a, kind: meter, host: h}\n    - {id: b, kind: meter, host: h, port: five}\n"
    )
    found = problems(text)
    assert len(found) == 1
    assert found[0].startswith("modbus.devices[1].port: ")
    assert "'five'" in found[0]


def test_every_problem_is_reported_at_once() -> None:
    found = problems("site: {id: 'bad id!'}\nmqtt: {port: 70000}\nocpp: {port: -1}\n")
    paths = sorted(p.split(":")[0] for p in found)
    assert paths == ["mqtt.port", "ocpp.port", "site.id"]


def test_missing_required_key() -> None:
    assert problems("mqtt: {port: 1883}\n") == ["site: required key is missing"]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.yaml")
    assert [str(p) for p in info.value.problems] == ["file not found"]


def test_invalid_yaml_names_the_line() -> None:
    found = problems("site:\n  id: [unclosed\n")
    assert len(found) == 1 and "not valid YAML: line" in found[0]


def test_empty_and_non_mapping_files() -> None:
    assert problems("") == ["file is empty"]
    assert problems("- a\n- b\n") == ["top level must be a mapping of keys"]


def test_secrets_from_env_and_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret_file = tmp_path / "cp2.secret"
    secret_file.write_text("from-file\n")
    monkeypatch.setenv("PB_MQTT_PW", "from-env")
    config = parse_config(
        MINIMAL
        + "mqtt: {username: gw, password: !env PB_MQTT_PW}\n"
        + f"ocpp: {{chargers: [{{id: CP-2, password: !file {secret_file}}}]}}\n"
    )
    assert config.mqtt.password is not None
    assert config.mqtt.password.get_secret_value() == "from-env"
    assert config.ocpp.chargers[0].password is not None
    assert config.ocpp.chargers[0].password.get_secret_value() == "from-file"
    assert "from-env" not in repr(config)  # secrets never end up in logs


def test_missing_secret_names_its_key(tmp_path: Path) -> None:
    found = problems(
        MINIMAL
        + f"ocpp: {{chargers: [{{id: A, password: !env PB_UNSET_VAR}}, {{id: B, password: !file {tmp_path}/x}}]}}\n"
    )
    assert found[0] == "ocpp.chargers[0].password: environment variable PB_UNSET_VAR is not set"
    assert found[1].startswith("ocpp.chargers[1].password: cannot read secret file")


def test_duplicate_ids_and_soc_window() -> None:
    found = problems(MINIMAL + "ocpp: {chargers: [{id: A}, {id: A}]}\n")
    assert found == ["ocpp: duplicate id 'A' in chargers"]
    found = problems(
        MINIMAL
        + "modbus: {devices: [{id: b, kind: storage, host: h, soc_min_pct: 90, soc_max_pct: 20}]}\n"
    )
    assert found == ["modbus.devices[0]: soc_min_pct must be below soc_max_pct"]


def test_missing_register_map_and_tls_files() -> None:
    found = problems(
        MINIMAL
        + "mqtt: {tls: {ca: /nonexistent/ca.pem}}\n"
        + "modbus: {devices: [{id: b, kind: storage, host: h, profile: no-such-map}]}\n"
    )
    assert found[0] == "mqtt.tls.ca: file /nonexistent/ca.pem does not exist"
    assert found[1].startswith("modbus.devices[0].profile: register map 'no-such-map' not found")


def test_check_config_command_exit_codes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", str(EXAMPLE)]) == 0
    assert "OK" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text("site: {id: s1}\nmqtt: {prot: 1883}\n")
    assert main(["check-config", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}: mqtt.prot: unknown key (did you mean 'port'?)" in err


def test_run_refuses_an_invalid_config_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("site: {id: s1}\nmqtt: {port: 0}\nocpp: {port: x}\n")
    assert main(["run", "-c", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"pilebridge: invalid config {bad}: mqtt.port:")
    assert "and 1 more" in err[0]


def test_check_config_asks_the_drivers_about_register_maps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = MINIMAL + "modbus: {devices: [{id: b, kind: meter, host: h, profile: victron-gx-ess}]}\n"
    parse_config(text)  # the loader alone knows nothing of register maps
    path = tmp_path / "pb.yaml"
    path.write_text(text)
    assert main(["check-config", str(path)]) == 1
    err = capsys.readouterr().err
    assert "modbus.devices[0].profile: victron-gx-ess.yaml describes a storage" in err
    assert main(["run", "-c", str(path)]) == 2
    assert "victron-gx-ess.yaml describes a storage" in capsys.readouterr().err


def test_grid_phases_must_name_one_phase_per_charger_phase() -> None:
    text = MINIMAL + (
        "ocpp:\n  chargers:\n"
        "    - {id: CP-1, phases: 1, grid_phases: [L1, L2]}\n"
        "    - {id: CP-2, phases: 3, grid_phases: [L2, L3, L1]}\n"
        "    - {id: CP-3, phases: 3, grid_phases: [L1, L1, L2]}\n"
    )
    assert problems(text) == [
        "ocpp.chargers[0]: charger 'CP-1': grid_phases must name 1 distinct phase(s)",
        "ocpp.chargers[2]: charger 'CP-3': grid_phases must name 3 distinct phase(s)",
    ]
