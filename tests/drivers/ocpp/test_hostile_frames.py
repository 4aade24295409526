"""What a careless firmware or a hostile client sends, over real websockets (issue findings
1, 2, 8, 9): every CALL is answered, never with InternalError, the connection keeps serving,
and every record the gateway makes is strict JSON in valid UTF-8."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.foundation.config import Config
from gateway.foundation.model import ChargerEvent, ChargerState, ChargerTelemetry, TransactionEvent
from tests.drivers.ocpp.conftest import Site, running_driver
from tests.drivers.ocpp.hostile import BOOT, assert_strict_json, raw_charger

VERSIONS = ["1.6", "2.0.1", "2.1"]
CHARGER = {"1.6": "CP-16", "2.0.1": "CP-201", "2.1": "CP-21"}
LONE = "\\ud800"  # a lone surrogate, as the JSON escape a charger sends


@pytest.mark.parametrize("version", VERSIONS)
async def test_lone_surrogates_are_made_valid_text(site: Site, version: str) -> None:
    vendor_key = "chargePointVendor" if version == "1.6" else "vendorName"
    async with raw_charger(site.port, CHARGER[version], version) as cp:
        if version == "1.6":
            text = f'{{"chargePointVendor":"Ac{LONE}me","chargePointModel":"M"}}'
        else:
            text = (
                f'{{"reason":"PowerUp","chargingStation":{{"{vendor_key}":"Ac{LONE}me",'
                f'"model":"M\\udfff"}}}}'
            )
        reply = await cp.call_text("BootNotification", text)
        assert reply[0] == 3 and reply[2]["status"] == "Accepted", reply
        reply = await cp.call_text(
            "DataTransfer", f'{{"vendorId":"V{LONE}","data":"x{LONE}","k{LONE}":1}}'
        )
        assert reply[0] == 3, reply
        await cp.still_serving()
    state = await site.wait_for(ChargerState, vendor="Ac\ufffdme")
    assert state.vendor == "Ac\ufffdme"
    assert site.of(ChargerEvent, event="data_transfer")
    assert assert_strict_json(site.records) >= 3


async def test_stored_surrogates_never_stop_a_start(
    config_factory: Callable[..., Config], tmp_path: Path
) -> None:
    config = config_factory()
    async with running_driver(config) as site, raw_charger(site.port, "CP-16") as cp:
        boot = f'{{"chargePointVendor":"{LONE}","chargePointModel":"M"}}'
        assert (await cp.call_text("BootNotification", boot))[0] == 3
        start = (
            f'{{"connectorId":1,"idTag":"TAG-1{LONE}","meterStart":10,'
            f'"timestamp":"2024-05-01T10:00:00Z"}}'
        )
        reply = await cp.call_text("StartTransaction", start)
        assert reply[0] == 3, reply
    async with running_driver(config) as site:
        assert assert_strict_json(site.records) >= 1
        tx = site.driver.store.open_for("CP-16")
        assert tx and tx[0].id_tag == "TAG-1\ufffd"


@pytest.mark.parametrize(
    ("version", "action", "payload"),
    [
        (
            "1.6",
            "StartTransaction",
            '{"connectorId":1,"idTag":"TAG-1","meterStart":"NaN","timestamp":"2024-05-01T10:00:00Z"}',
        ),
        (
            "1.6",
            "StartTransaction",
            '{"connectorId":1,"idTag":"TAG-1","meterStart":"1e999","timestamp":"2024-05-01T10:00:00Z"}',
        ),
        (
            "1.6",
            "StartTransaction",
            '{"connectorId":1,"idTag":"TAG-1","meterStart":1e300,"timestamp":"2024-05-01T10:00:00Z"}',
        ),
        ("1.6", "DataTransfer", '{"vendorId":"V","data":"x","extra":NaN}'),
        ("2.0.1", "DataTransfer", '{"vendorId":"V","data":{"v":Infinity}}'),
        ("2.1", "DataTransfer", '{"vendorId":"V","data":[-Infinity]}'),
        ("2.0.1", "DataTransfer", '{"vendorId":"V","data":1e999}'),
        ("2.1", "DataTransfer", '{"vendorId":"V","data":' + "9" * 400 + "}"),
        (
            "1.6",
            "StopTransaction",
            '{"transactionId":"inf","meterStop":1,"timestamp":"2024-05-01T10:00:00Z"}',
        ),
    ],
)
async def test_non_finite_numbers_are_refused_at_the_edge(
    site: Site, version: str, action: str, payload: str
) -> None:
    async with raw_charger(site.port, CHARGER[version], version) as cp:
        reply = await cp.call_text(action, payload)
        assert reply[0] == 4 and reply[2] == "PropertyConstraintViolation", reply
        assert reply[1] != "-1"
        await cp.still_serving()
    assert not site.of(TransactionEvent)
    assert_strict_json(site.records)


def _meter_values(value: float | str, multiplier: int) -> dict[str, object]:
    return {
        "evseId": 1,
        "meterValue": [
            {
                "timestamp": "2024-05-01T10:00:00Z",
                "sampledValue": [
                    {"value": 7400, "measurand": "Power.Active.Import"},
                    {
                        "value": value,
                        "measurand": "Energy.Active.Import.Register",
                        "unitOfMeasure": {"unit": "Wh", "multiplier": multiplier},
                    },
                ],
            }
        ],
    }


@pytest.mark.parametrize("version", ["2.0.1", "2.1"])
@pytest.mark.parametrize(("value", "multiplier"), [(1e300, 10), (5, 400), (5, -400), (1e300, 0)])
async def test_overflowing_readings_are_skipped_like_unknown_measurands(
    site: Site, version: str, value: float, multiplier: int
) -> None:
    async with raw_charger(site.port, CHARGER[version], version) as cp:
        reply = await cp.call("MeterValues", _meter_values(value, multiplier))
        assert reply[0] == 3, reply
    telemetry = await site.wait_for(ChargerTelemetry, charger_id=CHARGER[version])
    assert telemetry.power_w == 7400 and telemetry.energy_wh is None
    assert_strict_json(site.records)


@pytest.mark.parametrize("version", VERSIONS)
async def test_deep_nesting_gets_a_callerror_and_the_connection_stays(
    site: Site, version: str
) -> None:
    async with raw_charger(site.port, CHARGER[version], version) as cp:
        deep = "[" * 1000 + "]" * 1000
        reply = await cp.exchange(f'[2,"deep-1","DataTransfer",{{"vendorId":"V","data":{deep}}}]')
        expected = "FormationViolation" if version == "1.6" else "FormatViolation"
        assert reply[:3] == [4, "deep-1", expected], reply
        reply = await cp.exchange("[" * 100_000)
        assert reply[0] == 4, reply
        moderate = "[" * 40 + "]" * 40  # parses, but deeper than ocpp.max_message_depth
        reply = await cp.exchange(
            f'[2,"deep-2","DataTransfer",{{"vendorId":"V","data":{moderate}}}]'
        )
        assert reply[:3] == [4, "deep-2", expected], reply
        await cp.still_serving()


@pytest.mark.parametrize("version", VERSIONS)
async def test_too_many_elements_get_a_callerror(
    config_factory: Callable[..., Config], version: str
) -> None:
    async with running_driver(config_factory(max_message_elements=500)) as site:
        async with raw_charger(site.port, CHARGER[version], version) as cp:
            assert (await cp.call("BootNotification", BOOT[version]))[0] == 3
            sampled = [{"value": "1", "measurand": "Voltage"}] * 300
            payload = {
                "meterValue": [{"timestamp": "2024-05-01T10:00:00Z", "sampledValue": sampled}]
            }
            payload["connectorId" if version == "1.6" else "evseId"] = 1
            reply = await cp.call("MeterValues", payload)
            expected = (
                "OccurenceConstraintViolation"
                if version != "2.1"
                else "OccurrenceConstraintViolation"
            )
            assert reply[0] == 4 and reply[2] == expected, reply
            await cp.still_serving()
        assert not site.of(ChargerTelemetry)
