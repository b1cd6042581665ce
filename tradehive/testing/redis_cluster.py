"""Throw-away Redis servers for tests of the scaled-out layout (docs/scaling.md).

``redis_cluster()`` starts a Redis Cluster of three masters, no replicas, from
``redis-server --cluster-enabled yes`` in a temporary directory, splits the slots with
``CLUSTER ADDSLOTS``, joins the nodes with ``CLUSTER MEET``, waits for ``cluster_state:ok`` and
tears it all down afterwards. ``redis_standalone()`` starts one plain server (e.g. the Channels
layer's own Redis). Ports come from ``tradehive.testing.ports.PORTS`` (7100-7199); a cluster
node's bus port is set explicitly in the same range (``cluster-port``, Redis >= 7) instead of
the default port + 10000."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis
from redis.cluster import ClusterNode, RedisCluster

from tradehive.embedded_redis import redis_server_binary, wait_for_port
from tradehive.testing.ports import PORTS, free_ports, port_free

SLOTS = 16384


def redis_binaries() -> tuple[str, str]:
    """The machine's ``redis-server`` and ``redis-cli`` (>= 7), for layouts that need the
    machine's own Redis (the bundled 6.2 has no ``cluster-port`` and no redis-cli)."""
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if not server or not cli:
        raise RuntimeError("redis-server and redis-cli (>= 7) must be on PATH")
    major = server_major_version(server)
    if major < 7:
        raise RuntimeError(f"redis-server >= 7 is needed (cluster-port), found {major}")
    return server, cli


def server_major_version(server: str) -> int:
    # S603: a redis-server binary, asked for its version.
    version = subprocess.run(  # noqa: S603
        [server, "--version"], capture_output=True, text=True, check=True, timeout=10
    ).stdout  # "Redis server v=7.0.15 sha=..."
    return int(version.split("v=", 1)[1].split(".", 1)[0])


def cluster_binaries() -> list[str]:
    """Every redis-server a cluster test should run on: the bundled one (what ``make run``
    uses) and the machine's own when it is a different binary."""
    found = [redis_server_binary()]
    system = shutil.which("redis-server")
    if system and Path(system).resolve() != Path(found[0]).resolve():
        found.append(system)
    return found


def _server_args(server: str, port: int, workdir: Path) -> list[str]:
    return [
        server,
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(workdir),
        "--daemonize",
        "no",
        "--loglevel",
        "warning",
    ]


def _start(args: list[str], port: int) -> subprocess.Popen[bytes]:
    # S603: the machine's redis-server with our own literal arguments and port numbers.
    process = subprocess.Popen(  # noqa: S603
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    wait_for_port(port)
    return process


def _stop(processes: Sequence[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class LocalCluster:
    ports: list[int]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The ``ENGINE_REDIS_URL`` of this cluster (``tradehive.redis_client``)."""
        return "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in self.ports)

    def client(self, *, decode_responses: bool = True) -> RedisCluster:
        return RedisCluster(
            startup_nodes=[ClusterNode("127.0.0.1", port) for port in self.ports],
            decode_responses=decode_responses,
        )

    def flush(self) -> None:
        """Empty every master (the cluster stays formed)."""
        for port in self.ports:
            with redis.Redis(port=port) as node:
                node.flushall()


@contextmanager
def redis_cluster(
    masters: int = 3, ports: Sequence[int] = PORTS, *, server: str | None = None
) -> Iterator[LocalCluster]:
    """A running ``masters``-node Redis Cluster on loopback, torn down on exit.

    ``server`` is the redis-server binary (default: the machine's). The slots are split evenly
    with ``CLUSTER ADDSLOTS`` and the nodes joined with ``CLUSTER MEET``, which every version
    has, so no redis-cli is needed. Redis >= 7 gets its bus port from ``ports`` too
    (``cluster-port``); older servers use the fixed port + 10000, so their data ports are
    chosen with that port free as well."""
    server = server or shutil.which("redis-server") or redis_server_binary()
    if server_major_version(server) >= 7:
        chosen = free_ports(2 * masters, ports)
        data_ports, bus_ports = chosen[:masters], chosen[masters:]
    else:
        data_ports = [p for p in ports if port_free(p) and port_free(p + 10000)][:masters]
        if len(data_ports) < masters:
            raise RuntimeError(f"fewer than {masters} free port pairs (p, p + 10000) in {ports}")
        bus_ports = []
    cluster = LocalCluster(ports=data_ports)
    with tempfile.TemporaryDirectory(prefix="tradehive-cluster-") as tmp:
        try:
            for index, port in enumerate(data_ports):
                workdir = Path(tmp) / str(port)
                workdir.mkdir()
                args = [
                    *_server_args(server, port, workdir),
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    str(workdir / "nodes.conf"),
                    "--cluster-node-timeout",
                    "2000",
                ]
                if bus_ports:
                    args += ["--cluster-port", str(bus_ports[index])]
                cluster.processes.append(_start(args, port))
            for index, port in enumerate(data_ports):
                with redis.Redis(port=port) as node:
                    first = index * SLOTS // masters
                    last = (index + 1) * SLOTS // masters
                    node.execute_command("CLUSTER ADDSLOTS", *range(first, last))
                    if index:  # Redis >= 7 takes the first node's bus port, else +10000
                        bus = [bus_ports[0]] if bus_ports else []
                        node.execute_command("CLUSTER MEET", "127.0.0.1", data_ports[0], *bus)
            _wait_until_ok(data_ports)
            yield cluster
        finally:
            _stop(cluster.processes)


def _wait_until_ok(ports: Sequence[int], timeout: float = 20) -> None:
    """Until every node says ``cluster_state:ok`` and knows all the others."""
    deadline = time.monotonic() + timeout
    while True:
        states = []
        for port in ports:
            with redis.Redis(port=port, decode_responses=True) as node:
                info = node.cluster("INFO")
                states.append(
                    info["cluster_state"] == "ok" and int(info["cluster_known_nodes"]) == len(ports)
                )
        if all(states):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the cluster on {list(ports)} did not reach cluster_state:ok")
        time.sleep(0.1)


@contextmanager
def redis_standalone(ports: Sequence[int] = PORTS, *, taken: Sequence[int] = ()) -> Iterator[str]:
    """A plain throw-away redis-server on loopback; yields its URL."""
    server = shutil.which("redis-server") or redis_server_binary()
    (port,) = free_ports(1, ports, taken=taken)
    with tempfile.TemporaryDirectory(prefix="tradehive-redis-") as tmp:
        process = _start(_server_args(server, port, Path(tmp)), port)
        try:
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            _stop([process])
