"""`pilebridge run` loads what the daemon runs and nothing else: no simulator, no OCPP client.

The daemon runs as a real process (the console entry `gateway.cli.main`) with both drivers
enabled; when it has stopped on SIGTERM it writes the names of every module it loaded.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path

from gateway.foundation.config import Config
from tests.gateway.test_daemon_process import write_config

ROOT = Path(__file__).resolve().parents[2]

_RUN_AND_LIST_MODULES = """
import atexit, json, sys
atexit.register(lambda: open(sys.argv[1], "w").write(json.dumps(sorted(sys.modules))))
from gateway.cli import main
sys.exit(main(["run", "-c", sys.argv[2]]))
"""


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _ready(loop: asyncio.AbstractEventLoop, notify: socket.socket) -> None:
    while not (await loop.sock_recv(notify, 4096)).startswith(b"READY=1"):
        pass


async def test_run_loads_neither_the_simulators_nor_the_ocpp_client(
    make_config: Callable[..., Config], tmp_path: Path
) -> None:
    offline = closed_port()  # nothing listens: the Modbus devices just retry
    config = make_config(
        None,
        ocpp={"enabled": True, "host": "127.0.0.1", "port": 0},
        modbus={
            "devices": [
                {"id": "grid", "kind": "meter", "host": "127.0.0.1", "port": offline},
                {
                    "id": "bess-1",
                    "kind": "storage",
                    "host": "127.0.0.1",
                    "port": offline,
                    "profile": "victron-gx-ess",
                },
            ]
        },
    )
    path = write_config(config, tmp_path / "pb.yaml")
    modules_file = tmp_path / "modules.json"
    notify_path = tmp_path / "notify.sock"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(notify_path))
    notify.setblocking(False)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _RUN_AND_LIST_MODULES,
        str(modules_file),
        str(path),
        cwd=ROOT,
        env={**os.environ, "NOTIFY_SOCKET": str(notify_path)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    loop = asyncio.get_running_loop()
    ready = asyncio.ensure_future(_ready(loop, notify))
    exited = asyncio.ensure_future(proc.wait())
    await asyncio.wait({ready, exited}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
    ready.cancel()
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
    _, stderr = await asyncio.wait_for(proc.communicate(), 30)
    notify.close()
    assert proc.returncode == 0, stderr.decode()[-2000:]
    loaded = set(json.loads(modules_file.read_text()))
    assert {"drivers.ocpp.driver", "drivers.modbus.driver", "gateway.app"} <= loaded
    assert not [m for m in loaded if m == "simulators" or m.startswith("simulators.")]
    assert "ocpp.charge_point" not in loaded
    assert "gateway.demo" not in loaded
