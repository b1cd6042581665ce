"""The engine on a real three-node Redis Cluster (loopback, throw-away processes).

Runs with the bundled redis-server (6.2, what ``make test`` uses) and, when the machine has
one, its own redis-server (7.x)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.cluster import RedisCluster

from engine.engine import Engine
from engine.events import Fill, parse_entry
from engine.keys import market_keys
from engine.tests.factories import fills, limit, market
from tradehive.testing.redis_cluster import cluster_binaries, redis_cluster

SYMBOLS = ["BTC-KRW", "ETH-KRW", "LPJ-KRW", "XRP-KRW", "SOL-KRW", "DOGE-KRW"]


@pytest.fixture(params=cluster_binaries(), ids=lambda path: Path(path).parent.name)
def cluster(request: pytest.FixtureRequest) -> Iterator[RedisCluster]:
    with redis_cluster(server=request.param) as local:
        client = local.client()
        try:
            yield client
        finally:
            client.close()


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
