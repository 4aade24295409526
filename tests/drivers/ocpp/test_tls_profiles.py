"""OCPP security profiles 2 (TLS + HTTP Basic) and 3 (TLS with client certificates) against
real websockets clients, with certificates made in the test by `trustme` (a CA for the
gateway's server certificate, another for the chargers' client certificates)."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme
from websockets.exceptions import InvalidHandshake, InvalidStatus

from gateway.foundation.config import Config
from tests.drivers.ocpp.conftest import running_driver
from tests.drivers.ocpp.peers import basic, charger

PASSWORD = "sixteen-chars-or-more"


@dataclass(frozen=True)
class Certs:
    server_ca: trustme.CA
    charger_ca: trustme.CA
    dir: Path

    def client(self, common_name: str, ca: trustme.CA | None = None) -> ssl.SSLContext:
        """A charger's TLS context: trusts the gateway, presents a certificate for `common_name`."""
        context = self.trusting()
        (ca or self.charger_ca).issue_cert(common_name=common_name).configure_cert(context)
        return context

    def trusting(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        self.server_ca.configure_trust(context)
        return context


@pytest.fixture
def certs(tmp_path: Path) -> Iterator[Certs]:
    server_ca, charger_ca = trustme.CA(), trustme.CA()
    server = server_ca.issue_cert("127.0.0.1", "localhost")
    server.cert_chain_pems[0].write_to_path(str(tmp_path / "server.pem"))
    server.private_key_pem.write_to_path(str(tmp_path / "server.key"))
    charger_ca.cert_pem.write_to_path(str(tmp_path / "chargers-ca.pem"))
    yield Certs(server_ca, charger_ca, tmp_path)


def tls_config(config_factory: Callable[..., Config], certs: Certs) -> Config:
    return config_factory(
        tls={
            "cert": str(certs.dir / "server.pem"),
            "key": str(certs.dir / "server.key"),
            "ca": str(certs.dir / "chargers-ca.pem"),
        },
        chargers=[
            {"id": "CP-2", "password": PASSWORD, "security_profile": 2},
            {"id": "CP-3", "security_profile": 3},
        ],
    )


async def refused(port: int, cid: str, **kwargs: object) -> int:
    with pytest.raises(InvalidStatus) as info:
        async with charger(port, cid, **kwargs):  # type: ignore[arg-type]
            pass
    return info.value.response.status_code


async def test_profile_2_tls_and_basic_auth(
    config_factory: Callable[..., Config], certs: Certs
) -> None:
    async with running_driver(tls_config(config_factory, certs)) as site:
        tls = certs.trusting()
        async with charger(
            site.port, "CP-2", ssl_context=tls, headers=basic("CP-2", PASSWORD)
        ) as cp:
            assert (await cp.boot())["status"] == "Accepted"
        assert await refused(site.port, "CP-2", ssl_context=tls) == 401
        assert (
            await refused(site.port, "CP-2", ssl_context=tls, headers=basic("CP-2", "wrong")) == 401
        )
        other = basic("CP-3", PASSWORD)
        assert await refused(site.port, "CP-2", ssl_context=tls, headers=other) == 401
        with pytest.raises(ssl.SSLError):  # a gateway certificate the charger does not trust
            async with charger(site.port, "CP-2", ssl_context=ssl.create_default_context()):
                pass
        old = certs.trusting()
        old.maximum_version = ssl.TLSVersion.TLSv1_1
        with pytest.raises(ssl.SSLError):  # TLS 1.2 is the minimum (2.0.1 A00.FR.309)
            async with charger(site.port, "CP-2", ssl_context=old, headers=basic("CP-2", PASSWORD)):
                pass


async def test_profile_3_client_certificates(
    config_factory: Callable[..., Config], certs: Certs
) -> None:
    async with running_driver(tls_config(config_factory, certs)) as site:
        async with charger(site.port, "CP-3", ssl_context=certs.client("CP-3")) as cp:
            assert (await cp.boot())["status"] == "Accepted"
        # Signed by the chargers' CA but for another charger: refused.
        assert await refused(site.port, "CP-3", ssl_context=certs.client("CP-2")) == 401
        # No client certificate at all: refused.
        assert await refused(site.port, "CP-3", ssl_context=certs.trusting()) == 401
        # A certificate from a CA the gateway does not trust: the TLS handshake fails.
        stranger = trustme.CA()
        with pytest.raises((ssl.SSLError, OSError, InvalidHandshake)):
            async with charger(site.port, "CP-3", ssl_context=certs.client("CP-3", stranger)):
                pass
