"""The engine on a real three-node Redis Cluster (loopback, throw-away processes).

Runs with the bundled redis-server (6.2, what ``make test`` uses) and, when the machine has
one, its own redis-server (7.x)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_lib
from redis.cluster import RedisCluster

from engine.engine import Engine
from engine.events import Fill, parse_entry
from engine.keys import market_keys
from engine.tests.factories import fills, limit, market
from tradehive.embedded_redis import free_port, redis_server_binary, wait_for_port

SLOTS = 16384
SYMBOLS = ["BTC-KRW", "ETH-KRW", "LPJ-KRW", "XRP-KRW", "SOL-KRW", "DOGE-KRW"]


def _cluster_port() -> int:
    """A free port whose cluster bus port (+10000) is free too; both must stay below 65536."""
    for _ in range(200):
        port = free_port()
        if port > 55535:
            port -= 30000
        try:
            for candidate in (port, port + 10000):
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                    sock.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair for a cluster node")


def _binaries() -> list[str]:
    found = [redis_server_binary()]
    system = shutil.which("redis-server")
    if system and Path(system).resolve() != Path(found[0]).resolve():
        found.append(system)
    return found


@pytest.fixture(params=_binaries(), ids=lambda path: Path(path).parent.name)
def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RedisCluster]:
    binary: str = request.param
    processes: list[subprocess.Popen[bytes]] = []
    ports: list[int] = []
    try:
        for node in range(3):
            port = _cluster_port()
            workdir = tmp_path / f"node{node}"
            workdir.mkdir()
            args = [
                binary,
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
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                str(workdir / "nodes.conf"),
                "--cluster-node-timeout",
                "2000",
                "--loglevel",
                "warning",
            ]
            # S603: our own binary and numbers, no user input.
            processes.append(
                subprocess.Popen(  # noqa: S603
                    args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
            )
            wait_for_port(port)
            ports.append(port)
        nodes = [redis_lib.Redis(port=port) for port in ports]
        for index, node in enumerate(nodes):
            first, last = index * SLOTS // 3, (index + 1) * SLOTS // 3
            node.execute_command("CLUSTER ADDSLOTS", *range(first, last))
            if index:
                node.execute_command("CLUSTER MEET", "127.0.0.1", ports[0])
        deadline = time.monotonic() + 20
        while not all(
            n.cluster("INFO")["cluster_state"] == "ok"
            and int(n.cluster("INFO")["cluster_known_nodes"]) == 3
            for n in nodes
        ):
            assert time.monotonic() < deadline, "cluster did not become ok"
            time.sleep(0.1)
        client = RedisCluster(host="127.0.0.1", port=ports[0], decode_responses=True)
        yield client
        client.close()
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()


def test_engine_runs_markets_spread_over_a_three_node_cluster(cluster: RedisCluster) -> None:
    # given: markets whose keys live on different nodes
    engine = Engine(cluster)
    homes = {cluster.get_node_from_key(market_keys(s)[0]).name for s in SYMBOLS}
    assert len(homes) >= 2
    for symbol in SYMBOLS:
        assert len({cluster.keyslot(key) for key in market_keys(symbol)}) == 1
        engine.rebuild(symbol, [])

    # when
    for symbol in SYMBOLS:
        engine.submit(symbol, limit("a1", "sell", 101, 2, owner=1))
        engine.submit(symbol, limit("a2", "sell", 102, 3, owner=2))
        engine.submit(symbol, limit("b1", "buy", 99, 4, owner=3))
    # our own throw-away cluster: the pipeline must reload what Redis lost (NOSCRIPT, or the
    # function library on Redis 7)
    cluster.script_flush()
    if engine._functions:
        cluster.function_flush()
    piped = engine.submit_many([(s, limit("t", "buy", 102, 4, owner=9)) for s in SYMBOLS])
    cancels = [engine.cancel(s, "a1") for s in SYMBOLS]
    by_quote = [engine.submit(s, market("m", "buy", quote=500, owner=8)) for s in SYMBOLS]

    # then
    for symbol, events, cancel, spent in zip(SYMBOLS, piped, cancels, by_quote, strict=True):
        assert fills(events) == [("a1", "t", 101, 2), ("a2", "t", 102, 2)]
        assert cancel[0].kind == "cancel_rejected"
        assert [e.quantity for e in spent if isinstance(e, Fill)] == [1]
        assert engine.depth(symbol).bids == [(99, 4)]
        assert engine.depth(symbol).asks == []
        entries = cluster.xrange(f"events:{{{symbol}}}")
        assert len(entries) == 6  # one per script call that emitted events
        assert [e.seq for _, f in entries for e in parse_entry(f)] == list(range(1, 14))
        assert engine.has_state(symbol)
    snapshot = engine.snapshot("BTC-KRW")
    engine.rebuild("BTC-KRW", [*snapshot.bids, *snapshot.asks], min_seq=snapshot.sequence)
    assert engine.snapshot("BTC-KRW").bids == snapshot.bids
