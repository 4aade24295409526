"""A private Mosquitto on a free loopback port: for the demo, and for tests that stop and restart it."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

__all__ = ["PrivateMosquitto", "broker_reachable", "free_port", "mosquitto_binary"]


def mosquitto_binary() -> str | None:
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).exists()), None
    )


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


async def broker_reachable(host: str, port: int, timeout_s: float = 1.0) -> bool:
    try:
        async with asyncio.timeout(timeout_s):
            _, writer = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


class PrivateMosquitto:
    """Mosquitto bound to 127.0.0.1 on a port of its own, with persistence in a temp dir.

    Persistence lets a test stop and restart the broker without losing the sessions and
    queued messages of persistent subscribers, as a production broker would.
    """

    def __init__(
        self,
        port: int | None = None,
        *,
        persistence: bool = True,
        acl_rules: str | None = None,
        anonymous: bool = True,
        listener_options: Sequence[str] = (),
        extra_config: str | Sequence[str] = (),
    ) -> None:
        binary = mosquitto_binary()
        if binary is None:
            raise FileNotFoundError("mosquitto is not installed (apt-get install mosquitto)")
        self.binary = binary
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self._dir = Path(tempfile.mkdtemp(prefix="pilebridge-mosquitto-"))
        # Started as root, Mosquitto drops to its own user: it must be able to write here.
        self._dir.chmod(0o777)
        self._persistence = persistence
        self._acl_rules = acl_rules
        self._anonymous = anonymous
        self.listener_options = list(listener_options)
        """Lines for the listener (e.g. `certfile ...`, `keyfile ...` for TLS)."""
        self.extra_config = [extra_config] if isinstance(extra_config, str) else list(extra_config)
        """More mosquitto.conf lines, e.g. a bridge to a central broker, `max_packet_size`."""
        self._proc: asyncio.subprocess.Process | None = None

    def _write_config(self) -> Path:
        conf = self._dir / "mosquitto.conf"
        lines = [
            f"listener {self.port} {self.host}",
            *self.listener_options,
            f"allow_anonymous {'true' if self._anonymous else 'false'}",
            "max_queued_messages 100000",
            "max_inflight_messages 0",
            # Nagle off towards subscribers, as docs/install.md recommends for site brokers.
            "set_tcp_nodelay true",
            f"log_dest file {self._dir / 'mosquitto.log'}",
        ]
        if self._persistence:
            lines += [
                "persistence true",
                f"persistence_location {self._dir}/",
                "autosave_interval 1",
            ]
        if self._acl_rules is not None:
            acl = self._dir / "acl"
            acl.write_text(self._acl_rules)
            acl.chmod(0o644)
            lines.append(f"acl_file {acl}")
        lines += self.extra_config
        conf.write_text("\n".join(lines) + "\n")
        return conf

    async def start(self) -> None:
        conf = self._write_config()
        self._proc = await asyncio.create_subprocess_exec(
            self.binary, "-c", str(conf), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(200):
            if await broker_reachable(self.host, self.port, 0.2):
                return
            if self._proc.returncode is not None:
                raise RuntimeError(
                    f"mosquitto exited with {self._proc.returncode}; see {self._dir}"
                )
            await asyncio.sleep(0.025)
        raise RuntimeError(f"mosquitto did not listen on {self.host}:{self.port}")

    async def stop(self, *, kill: bool = False) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if kill:
            proc.kill()
        else:
            proc.terminate()
        try:
            async with asyncio.timeout(10):
                await proc.wait()
        except TimeoutError:
            proc.kill()
            await proc.wait()

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    @property
    def dir(self) -> Path:
        """The broker's own directory (config, log, persistence); writable by Mosquitto."""
        return self._dir

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    def cleanup(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)
