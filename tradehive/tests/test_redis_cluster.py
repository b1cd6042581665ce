"""The configured Redis (``ENGINE_REDIS_URL=redis+cluster://...``) on a real three-master Redis
Cluster: the engine's scripts with markets in different slots, the login throttle's counters and
the API's request budgets, each of them single-slot as a cluster demands (docs/scaling.md)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal as D
from io import StringIO

import pytest
from django.core.management import call_command
from redis.cluster import RedisCluster

from accounts import ratelimit, request_limits
from accounts.request_limits import Budget, budgets_charge
from engine.engine import CancelRequest
from engine.keys import market_keys
from engine.runtime import get_engine
from engine.tests.factories import fills, limit
from markets.services import pair_create
from orders.services import order_place
from settlement.consumer import events_wait, markets_due
from settlement.services import settlement_group_ensure
from tradehive.errors import RateLimited
from tradehive.redis_client import cluster_nodes, get_redis, is_cluster
from tradehive.testing.redis_cluster import LocalCluster, redis_cluster
from wallets.seed import asset_seed_defaults
from wallets.verification import ledger_verify

SYMBOLS = ["BTC-KRW", "ETH-KRW", "LPJ-KRW", "XRP-KRW", "SOL-KRW", "DOGE-KRW"]


def _forget_clients() -> None:
    """Drop every process-wide client and script registered on the previous Redis."""
    for cached in (get_redis, get_engine, ratelimit._failure_count, request_limits._script):
        cached.cache_clear()


@pytest.fixture(scope="module")
def local_cluster() -> Iterator[LocalCluster]:
    with redis_cluster() as cluster:
        yield cluster


@pytest.fixture
def cluster(local_cluster: LocalCluster, settings) -> Iterator[RedisCluster]:
    """``ENGINE_REDIS_URL`` pointed at the cluster (emptied first) for the test."""
    local_cluster.flush()
    settings.ENGINE_REDIS_URL = local_cluster.url
    _forget_clients()
    client = local_cluster.client()
    try:
        yield client
    finally:
        client.close()
        _forget_clients()


def test_a_cluster_url_names_its_nodes_and_credentials() -> None:
    # when
    nodes, options = cluster_nodes("rediss+cluster://app:s%40cret@10.0.0.1:6379,[::1]:6380/0")
    # then
    assert [(n.host, n.port) for n in nodes] == [("10.0.0.1", 6379), ("::1", 6380)]
    assert options == {"ssl": True, "username": "app", "password": "s@cret"}
    with pytest.raises(ValueError, match="only database 0"):
        cluster_nodes("redis+cluster://10.0.0.1:6379/2")
    with pytest.raises(ValueError, match="host:port"):
        cluster_nodes("redis+cluster://10.0.0.1")


def test_the_cluster_url_gives_a_cluster_client(cluster: RedisCluster) -> None:
    assert is_cluster(get_redis())
    assert len(cluster.get_primaries()) == 3


def test_place_match_and_cancel_on_markets_spread_over_three_nodes(cluster: RedisCluster) -> None:
    # given markets whose keys lie on different nodes, each market in one slot
    engine = get_engine()
    homes = {cluster.get_node_from_key(market_keys(s)[0]).name for s in SYMBOLS}
    assert len(homes) == 3
    cluster.config_resetstat(target_nodes=RedisCluster.PRIMARIES)
    for symbol in SYMBOLS:
        assert len({cluster.keyslot(key) for key in market_keys(symbol)}) == 1
        engine.rebuild(symbol, [])

    # when a maker rests in every market, a taker crosses it, and another maker is cancelled
    for symbol in SYMBOLS:
        engine.submit(symbol, limit("m1", "sell", 101, 2, owner=1))
        engine.submit(symbol, limit("m2", "buy", 90, 5, owner=1))
    taken = engine.submit_many([(s, limit("t1", "buy", 101, 3, owner=2)) for s in SYMBOLS])
    cancelled = engine.submit_many([(s, CancelRequest(order_id="m2")) for s in SYMBOLS])

    # then every market matched on its own node, in its own stream
    assert [fills(events) for events in taken] == [[("m1", "t1", 101, 2)]] * len(SYMBOLS)
    assert [[e.kind for e in events] for events in cancelled] == [["done"]] * len(SYMBOLS)
    for symbol in SYMBOLS:
        depth = engine.depth(symbol)
        assert depth.asks == []
        assert depth.bids == [(101, 1)]  # the taker's remainder rests
        assert cluster.xlen(f"events:{{{symbol}}}") == 4
    # and each call went straight to its slot's node: no COMMAND GETKEYS round trip first
    for node in cluster.get_primaries():
        stats = cluster.info("commandstats", target_nodes=node)
        assert "cmdstat_command|getkeys" not in stats, stats["cmdstat_command|getkeys"]


def test_settlement_polls_the_markets_streams_across_slots(cluster: RedisCluster) -> None:
    # given two markets on different nodes with events
    engine = get_engine()
    for symbol in SYMBOLS[:2]:
        engine.rebuild(symbol, [])
        engine.submit(symbol, limit("m1", "sell", 101, 2, owner=1))

    class Pair:  # markets_due reads only these two fields of a TradingPair
        def __init__(self, pk: int, symbol: str) -> None:
            self.pk, self.symbol = pk, symbol

    pairs = [Pair(i, s) for i, s in enumerate(SYMBOLS[:2])]

    # when settlement asks which markets moved, and waits for news on streams of several slots
    due = markets_due(get_redis(), pairs, {}, full_pass=False)  # type: ignore[arg-type]
    started = time.monotonic()
    events_wait(get_redis(), SYMBOLS[:2], 0.05)

    # then the pipelined GETs crossed nodes, and the cross-slot wait fell back to a short sleep
    assert [(p.symbol, seq) for p, seq in due] == [(s, 1) for s in SYMBOLS[:2]]
    assert 0.04 <= time.monotonic() - started < 1


def test_login_failures_lock_the_account_and_address_out(cluster: RedisCluster, settings) -> None:
    # given a limit of 3 failures per account and 5 per address
    settings.LOGIN_FAILURES_PER_ACCOUNT = 3
    settings.LOGIN_FAILURES_PER_IP = 5

    # when one address fails three times on one account (both counters in one script call)
    for _ in range(3):
        ratelimit.login_throttle_check(username="Alice", ip="10.0.0.1")
        ratelimit.login_failure_note(username="Alice", ip="10.0.0.1")

    # then the account is locked out, from any address, with the window's end as Retry-After
    with pytest.raises(RateLimited) as refused:
        ratelimit.login_throttle_check(username="alice", ip="10.0.0.2")
    assert 0 < refused.value.retry_after <= settings.LOGIN_FAILURE_WINDOW_SECONDS
    keys = [ratelimit._account_key("alice"), ratelimit._ip_key("10.0.0.1")]
    assert [cluster.get(k) for k in keys] == ["3", "3"]
    assert len({cluster.keyslot(k) for k in keys}) == 1
    # and another account from that address has two tries left before the address is locked
    for _ in range(2):
        ratelimit.login_throttle_check(username="bob", ip="10.0.0.1")
        ratelimit.login_failure_note(username="bob", ip="10.0.0.1")
    with pytest.raises(RateLimited):
        ratelimit.login_throttle_check(username="carol", ip="10.0.0.1")
    # and a success clears the account's counter only
    ratelimit.login_failures_clear(username="alice")
    ratelimit.login_throttle_check(username="alice", ip="10.0.0.2")


def test_request_budgets_are_charged_together_and_refused_together(cluster: RedisCluster) -> None:
    # given an address budget of 10 and a user budget of 4 in one minute-long window
    now = time.time()
    budgets = [
        Budget(rule="ip_weight", subject="ip:10.0.0.9", cost=2, limit=10, window_s=60),
        Budget(rule="user_weight", subject="user:7", cost=2, limit=4, window_s=60),
    ]

    # when three requests of weight 2 come in
    verdicts = [budgets_charge(budgets, now=now) for _ in range(3)]

    # then two were charged to both budgets; the third was refused by the user's, charging none
    assert [v.refused for v in verdicts] == [None, None, budgets[1]]
    assert verdicts[1].used == [4, 4]
    assert verdicts[2].used == [4, 4]
    assert verdicts[2].refusals == 1
    # all on the one node of the tag {budgets}: two counters and the user's refusal counter
    home = cluster.get_node_from_key("{budgets}")
    assert len(cluster.keys("ratelimit:*", target_nodes=home)) == 3
    nodes = cluster.get_primaries()
    assert sum(len(cluster.keys("ratelimit:*", target_nodes=node)) for node in nodes) == 3


@pytest.mark.django_db(transaction=True)  # orders reach the engine on commit
def test_engine_rebuild_restores_a_market_on_the_cluster_and_trading_goes_on(
    cluster: RedisCluster, make_user, settle
) -> None:
    # given a market on the cluster with a resting ask, and a cluster that then loses everything
    assets = {a.symbol: a for a in asset_seed_defaults()}
    pair = pair_create(
        base=assets["LPJ"],
        quote=assets["KRW"],
        tick_size=D(1),
        lot_size=D(1),
        min_notional=D(1000),
        actor=None,
    )
    settlement_group_ensure(get_redis(), pair.symbol)
    seller, buyer = make_user(LPJ="10"), make_user(KRW="10000")
    ask = order_place(
        user=seller, symbol="LPJ-KRW", side="sell", type="limit", quantity=D(3), price=D(1000)
    )
    settle(pair)
    assert get_engine().depth("LPJ-KRW").asks == [(1000, 3)]
    cluster.flushall(target_nodes=RedisCluster.PRIMARIES)

    # when the operator rebuilds the engine from PostgreSQL
    call_command("engine_rebuild", "LPJ-KRW", stdout=StringIO())

    # then the ask rests again, and a buyer takes it, settled with the ledger balanced
    assert get_engine().depth("LPJ-KRW").asks == [(1000, 3)]
    order_place(
        user=buyer, symbol="LPJ-KRW", side="buy", type="limit", quantity=D(3), price=D(1000)
    )
    settle(pair)
    ask.refresh_from_db()
    assert ask.status == "filled"
    assert ledger_verify() == []
