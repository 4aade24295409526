"""Firmware updates from the gateway's own file server and log uploads to it, end to end:
the whole gateway (HTTP + OCPP) and the simulator of every version, real HTTP both ways."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from gateway.app import Gateway
from gateway.foundation.config import Config
from gateway.foundation.model import (
    ChargerEvent,
    ChargerState,
    CommandResult,
    CommandStatus,
    Record,
)
from tests.conftest import running_gateway
from tests.drivers.ocpp.peers import charger
from tests.drivers.ocpp.sims import CHARGER, VERSIONS, simulated


class Watch:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.records: list[Record] = []
        self.changed = asyncio.Event()
        gateway.recorder.subscribe(self._on)

    def _on(self, record: Record) -> None:
        self.records.append(record)
        self.changed.set()

    async def until(self, check: Callable[[], Any], timeout: float = 30.0) -> Any:
        async with asyncio.timeout(timeout):
            while not (found := check()):
                self.changed.clear()
                await self.changed.wait()
        return found

    def events(self, name: str) -> list[ChargerEvent]:
        return [r for r in self.records if isinstance(r, ChargerEvent) and r.event == name]

    def states(self, cid: str) -> list[ChargerState]:
        return [r for r in self.records if isinstance(r, ChargerState) and r.charger_id == cid]

    async def command(self, cid: str, name: str, **body: Any) -> CommandResult:
        router = self.gateway.router
        request, args, rejection = router.parse("charger", cid, name, json.dumps(body).encode())
        if rejection is not None:
            return rejection
        assert request is not None
        return await router.dispatch(request, args)

    @property
    def ocpp_port(self) -> int:
        return int(next(d for d in self.gateway.drivers if d.name == "ocpp").port)  # type: ignore[attr-defined]

    @property
    def http_url(self) -> str:
        assert self.gateway.http is not None
        return self.gateway.http.url


@asynccontextmanager
async def site(
    make_config: Callable[..., Config], tmp_path: Path, **http: Any
) -> AsyncIterator[Watch]:
    files = tmp_path / "firmware"
    files.mkdir()
    (files / "simcharger-2.0.0.bin").write_bytes(b"version=2.0.0\n" + b"\x00" * 4096)
    (files / "empty.bin").write_bytes(b"")
    config = make_config(
        http={"files": str(files), **http},
        ocpp={
            "enabled": True,
            "host": "127.0.0.1",
            "port": 0,
            "call_timeout_s": 10,
            "chargers": [{"id": c} for c in CHARGER.values()],
        },
    )
    async with running_gateway(config) as gateway:
        yield Watch(gateway)


@pytest.mark.parametrize("version", VERSIONS)
async def test_firmware_update_from_the_gateways_files(
    make_config: Callable[..., Config], tmp_path: Path, version: str
) -> None:
    cid = CHARGER[version]
    async with site(make_config, tmp_path) as gw, simulated(gw.ocpp_port, version) as sim:
        location = f"{gw.http_url}/files/simcharger-2.0.0.bin"
        result = await gw.command(cid, "update_firmware", location=location, retries=0)
        assert result.status is CommandStatus.ACCEPTED, result
        request_id = result.detail["request_id"]

        def done() -> Any:
            states = [
                s for s in gw.states(cid) if s.firmware_update and "version" in s.firmware_update
            ]
            return states[-1].firmware_update if states else None

        update = await gw.until(done, timeout=60)
        assert update["request_id"] == request_id
        assert update["previous_version"] == "1.0.0" and update["version"] == "2.0.0"
        assert update["version_changed"] is True
        final = await gw.until(
            lambda: (
                (s := gw.states(cid)[-1]).firmware_update
                and s.firmware_update["status"] == "Installed"
                and s
            )
        )
        assert final.firmware == "2.0.0"
        statuses = [e.data["status"] for e in gw.events("firmware_status")]
        expected = ["Downloading", "Downloaded", "Installing"]
        assert statuses[: len(expected)] == expected and statuses[-1] == "Installed"
        assert all(e.data["request_id"] == request_id for e in gw.events("firmware_status"))
        assert sim.firmware_version == "2.0.0"


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_a_missing_image_fails_the_download(
    make_config: Callable[..., Config], tmp_path: Path, version: str
) -> None:
    cid = CHARGER[version]
    async with site(make_config, tmp_path) as gw, simulated(gw.ocpp_port, version):
        location = f"{gw.http_url}/files/../../etc/passwd"
        result = await gw.command(cid, "update_firmware", location=location, retries=0)
        assert result.status is CommandStatus.ACCEPTED
        await gw.until(
            lambda: any(e.data["status"] == "DownloadFailed" for e in gw.events("firmware_status"))
        )
        assert gw.states(cid)[-1].firmware_update["status"] == "DownloadFailed"  # type: ignore[index]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("kind", ["diagnostics", "security"])
async def test_logs_are_uploaded_to_the_gateway(
    make_config: Callable[..., Config], tmp_path: Path, version: str, kind: str
) -> None:
    cid = CHARGER[version]
    async with site(make_config, tmp_path) as gw, simulated(gw.ocpp_port, version):
        result = await gw.command(cid, "get_logs", type=kind)
        assert result.status is CommandStatus.ACCEPTED, result
        request_id = result.detail["request_id"]
        (uploaded,) = await gw.until(lambda: gw.events("log_uploaded"))
        data = uploaded.data
        assert data["request_id"] == request_id and data["size"] > 0
        stored = gw.gateway.config.state_dir / "uploads" / data["name"]
        assert hashlib.sha256(stored.read_bytes()).hexdigest() == data["sha256"]
        assert cid.encode() in stored.read_bytes()
        status_event = (
            "diagnostics_status" if version == "1.6" and kind == "diagnostics" else "log_status"
        )
        await gw.until(lambda: any(e.data["status"] == "Uploaded" for e in gw.events(status_event)))
        assert all(e.data["request_id"] == request_id for e in gw.events(status_event))
        again = await gw.command(cid, "get_logs", type=kind)
        assert again.detail["request_id"] != request_id  # a new link per request


async def test_bad_requests_are_rejected_clearly(
    make_config: Callable[..., Config], tmp_path: Path
) -> None:
    async with site(make_config, tmp_path) as gw:
        async with charger(gw.ocpp_port, "CP-16", "1.6") as cp:
            await gw.until(lambda: "CP-16" in gw.gateway.drivers[0].hub.sessions)  # type: ignore[attr-defined]
            result = await gw.command(
                "CP-16", "update_firmware", location="ftp://x/fw.bin", signing_certificate="c"
            )
            assert result.status is CommandStatus.REJECTED and "signature" in str(result.reason)
            cp.errors["GetDiagnostics"] = "NotSupported"
            result = await gw.command("CP-16", "get_logs")
            assert (
                result.status is CommandStatus.REJECTED
                and result.detail["error_code"] == "NotSupported"
            )
            cp.answers["GetDiagnostics"] = {}
            cp.errors.clear()
            result = await gw.command("CP-16", "get_logs")
            assert result.status is CommandStatus.REJECTED and "no diagnostics" in str(
                result.reason
            )
        async with charger(gw.ocpp_port, "CP-201", "2.0.1") as cp:
            await gw.until(lambda: "CP-201" in gw.gateway.drivers[0].hub.sessions)  # type: ignore[attr-defined]
            cp.answers["UpdateFirmware"] = {"status": "InvalidCertificate"}
            result = await gw.command(
                "CP-201",
                "update_firmware",
                location="https://x/fw.bin",
                signature="s",
                signing_certificate="c",
            )
            assert result.status is CommandStatus.REJECTED
            assert result.detail["charger_status"] == "InvalidCertificate"
            sent = await cp.wait_call("UpdateFirmware")
            assert sent["firmware"]["signature"] == "s" and isinstance(sent["requestId"], int)


@pytest.mark.parametrize("version", ["1.6", "2.1"])
async def test_signed_update(
    make_config: Callable[..., Config], tmp_path: Path, version: str
) -> None:
    cid = CHARGER[version]
    async with site(make_config, tmp_path) as gw, simulated(gw.ocpp_port, version) as sim:
        location = f"{gw.http_url}/files/simcharger-2.0.0.bin"
        result = await gw.command(
            cid,
            "update_firmware",
            location=location,
            signature="c2ln",
            signing_certificate="-----BEGIN CERTIFICATE-----",
        )
        assert result.status is CommandStatus.ACCEPTED, result
        action = "SignedUpdateFirmware" if version == "1.6" else "UpdateFirmware"
        assert [c.action for c in sim.received if "Firmware" in c.action] == [action]
        await gw.until(
            lambda: any(e.data["status"] == "Installed" for e in gw.events("firmware_status")), 60
        )
        statuses = [e.data["status"] for e in gw.events("firmware_status")]
        assert "SignatureVerified" in statuses
        assert all(
            e.data["request_id"] == result.detail["request_id"]
            for e in gw.events("firmware_status")
        )
        assert sim.firmware_version == "2.0.0"


@pytest.mark.parametrize("version", VERSIONS)
async def test_triggered_status_notifications(
    make_config: Callable[..., Config], tmp_path: Path, version: str
) -> None:
    cid = CHARGER[version]
    log_message = "DiagnosticsStatusNotification" if version == "1.6" else "LogStatusNotification"
    log_event = "diagnostics_status" if version == "1.6" else "log_status"
    async with site(make_config, tmp_path) as gw, simulated(gw.ocpp_port, version):
        for message, event in (
            ("FirmwareStatusNotification", "firmware_status"),
            (log_message, log_event),
        ):
            result = await gw.command(cid, "trigger", message=message)
            assert result.status is CommandStatus.ACCEPTED, result
            (idle,) = await gw.until(lambda event=event: gw.events(event))
            assert idle.data["status"] == "Idle"
