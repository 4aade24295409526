"""Hand a packet to a paho client as if its socket had read it (no broker needed)."""

from __future__ import annotations

import paho.mqtt.client as paho


def feed_packet(client: paho.Client, command: int, body: bytes) -> paho.MQTTErrorCode:
    """Run paho's handler on one whole packet: `command` byte and remaining-length `body`."""
    client._in_packet = {
        "command": command,
        "have_remaining": 1,
        "remaining_count": [len(body)],
        "remaining_mult": 1,
        "remaining_length": len(body),
        "packet": bytearray(body),
        "to_process": 0,
        "pos": 0,
    }
    return client._packet_handle()
