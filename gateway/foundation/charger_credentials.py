"""Weak charger credentials in a config: what the gateway warns about at start, in /healthz
and in `pilebridge status` (docs/ocpp.md "Security profiles").

Refused outright by the config check: an empty password. Warned about (the site may have
reasons, e.g. a separate charger network): a charger without any credential on a listener
reachable from the network, `allow_unknown_chargers` on such a listener, and passwords
shorter than 16 characters, the minimum of the OCPP security profiles (2.0.1 A00.FR.205).
Pure: config in, sentences out.
"""

from __future__ import annotations

import ipaddress

from gateway.foundation.config import OcppConfig

__all__ = ["MIN_PASSWORD_CHARS", "credential_warnings", "listener_is_local"]

MIN_PASSWORD_CHARS = 16


def listener_is_local(host: str) -> bool:
    """Whether only this machine can reach `host` (loopback address or name)."""
    if host in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def credential_warnings(ocpp: OcppConfig) -> list[str]:
    if not ocpp.enabled:
        return []
    warnings = []
    exposed = not listener_is_local(ocpp.host)
    if exposed and ocpp.allow_unknown_chargers:
        warnings.append(
            f"ocpp.allow_unknown_chargers on {ocpp.host}: any device on the network can "
            "connect as a charger without credentials"
        )
    for charger in ocpp.chargers:
        password = charger.password.get_secret_value() if charger.password else None
        if password is None and charger.security_profile in (None, 0) and exposed:
            warnings.append(
                f"charger {charger.id} has no password and ocpp listens on {ocpp.host}: "
                "anyone on the network can connect as it"
            )
        elif password is not None and len(password) < MIN_PASSWORD_CHARS:
            warnings.append(
                f"charger {charger.id}: password shorter than {MIN_PASSWORD_CHARS} characters "
                "(the OCPP security profile minimum)"
            )
    return warnings
