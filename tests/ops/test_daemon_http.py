"""`pilebridge run` as a process: health answers by READY=1; a taken port is a one-line error."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable
from pathlib import Path

from gateway.foundation.config import Config
from tests.gateway.test_daemon_process import start_daemon, write_config
from tests.ops.helpers import get


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_health_answers_once_systemd_hears_ready(
    make_config: Callable[..., Config], tmp_path: Path
) -> None:
    port = free_port()
    path = write_config(make_config(None, http={"port": port}), tmp_path / "pb.yaml")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    notify.setblocking(False)
    proc = await start_daemon(path, {"NOTIFY_SOCKET": str(tmp_path / "notify.sock")})
    try:
        loop = asyncio.get_running_loop()
        message = await asyncio.wait_for(loop.sock_recv(notify, 4096), 20)
        assert message.startswith(b"READY=1")
        status, _, body = await get(port, "/healthz")  # no retry: bound before READY
        assert status == 200
        assert {c["name"] for c in json.loads(body)["components"]} >= {"http", "leases"}
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.communicate(), 20)
        notify.close()
    assert proc.returncode == 0


async def test_http_port_in_use_exits_nonzero_with_a_one_line_reason(
    make_config: Callable[..., Config], tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        path = write_config(make_config(None, http={"port": port}), tmp_path / "pb.yaml")
        proc = await start_daemon(path)
        _, stderr = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode not in (0, None)
    last = stderr.decode().strip().splitlines()[-1]
    assert last.startswith("pilebridge: cannot start: http: cannot listen on")
    assert f"127.0.0.1:{port}" in last and "http.port" in last
