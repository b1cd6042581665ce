"""Several ``settle --shard i/n`` processes: each market settled by exactly one, exactly once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.keys import events_key
from markets.models import Trade, TradingPair
from markets.services import pair_create
from orders.models import Fill
from orders.services import order_place
from orders.tests.conftest import balance
from settlement.consumer import markets_due, shard_pairs, shard_parse
from settlement.models import MarketCursor
from settlement.services import GROUP, settlement_group_ensure
from tradehive.redis_client import get_redis
from tradehive.testing.processes import start_manage, stop, wait_until
from wallets.models import Asset

D = Decimal


def test_shard_parse_reads_i_of_n_and_refuses_the_rest() -> None:
    # given / when / then
    assert shard_parse("0/2") == (0, 2)
    assert shard_parse("2/3") == (2, 3)
    for text in ("2/2", "-1/2", "1", "a/b", "0/0"):
        with pytest.raises(ValueError):  # noqa: PT011 - int() and our own checks both raise it
            shard_parse(text)


@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_shards_cover_every_market_exactly_once(count: int) -> None:
    # given seven markets (unsaved: only their ids matter)
    pairs = [TradingPair(pk=pk, symbol=f"M{pk}-KRW") for pk in (3, 4, 5, 8, 13, 21, 22)]
    # when each of ``count`` shards takes its markets
    shares = [shard_pairs(pairs, (index, count)) for index in range(count)]
    # then together they hold every market, and no market twice
    taken = [pair.pk for share in shares for pair in share]
    assert sorted(taken) == [pair.pk for pair in pairs]
    assert shard_pairs(pairs, None) == pairs


def test_only_markets_whose_engine_sequence_moved_are_read(redis_client) -> None:
    # given two markets found drained at sequences 5 and 6, whose engines are now at 5 and 7,
    # and a third never read
    pairs = [
        TradingPair(pk=pk, symbol=symbol)
        for pk, symbol in ((1, "AAA-KRW"), (2, "BBB-KRW"), (3, "CCC-KRW"))
    ]
    redis_client.set("seq:{AAA-KRW}", 5)
    redis_client.set("seq:{BBB-KRW}", 7)
    drained_at = {1: 5, 2: 6}
    # when the loop asks which to read
    due = markets_due(redis_client, pairs, drained_at, full_pass=False)
    # then the quiet one is skipped; a full pass reads them all
    assert [(pair.symbol, seq) for pair, seq in due] == [("BBB-KRW", 7), ("CCC-KRW", 0)]
    assert len(markets_due(redis_client, pairs, drained_at, full_pass=True)) == 3


@pytest.fixture
def two_markets(lpj_krw) -> list[TradingPair]:
    """LPJ-KRW and BTC-KRW, whose ids differ by one: shards 0/2 and 1/2 take one each."""
    assets = {a.symbol: a for a in Asset.objects.all()}
    btc = pair_create(
        base=assets["BTC"],
        quote=assets["KRW"],
        tick_size=D(1000),
        lot_size=D("0.001"),
        min_notional=D(1000),
        maker_fee=D("0.001"),
        taker_fee=D("0.002"),
        actor=None,
    )
    settlement_group_ensure(get_redis(), btc.symbol)
    return [lpj_krw, TradingPair.objects.select_related("base", "quote").get(pk=btc.pk)]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("ledger_clean")
def test_two_shard_processes_settle_each_market_once(two_markets, make_user) -> None:
    # given 5 crossing pairs on each of two markets, waiting in their streams
    lpj, btc = two_markets
    buyers = []
    for _ in range(5):
        order_place(
            user=make_user(LPJ="2"),
            symbol=lpj.symbol,
            side="sell",
            type="limit",
            quantity=D(2),
            price=D(1000),
        )
        order_place(
            user=make_user(BTC="0.002"),
            symbol=btc.symbol,
            side="sell",
            type="limit",
            quantity=D("0.002"),
            price=D(50_000_000),
        )
        buyer = make_user(KRW="200000")
        order_place(
            user=buyer, symbol=lpj.symbol, side="buy", type="limit", quantity=D(2), price=D(1000)
        )
        order_place(
            user=buyer,
            symbol=btc.symbol,
            side="buy",
            type="limit",
            quantity=D("0.002"),
            price=D(50_000_000),
        )
        buyers.append(buyer)
    last = {p.symbol: int(get_redis().get(f"seq:{{{p.symbol}}}")) for p in two_markets}
    # when shard 0/2 runs alone
    first = start_manage("settle", "--shard", "0/2")
    try:
        mine = next(p for p in two_markets if p.pk % 2 == 0)
        other = next(p for p in two_markets if p.pk % 2 == 1)
        wait_until(
            lambda: MarketCursor.objects.filter(pair=mine, last_seq=last[mine.symbol]).exists(),
            what="shard 0 to settle its market",
        )
        # then it settled its own market only, and never read the other's stream
        assert not MarketCursor.objects.filter(pair=other, last_seq__gt=0).exists()
        assert get_redis().xpending(events_key(other.symbol), GROUP)["pending"] == 0
        # when shard 1/2 joins
        second = start_manage("settle", "--shard", "1/2")
        try:
            wait_until(
                lambda: MarketCursor.objects.filter(
                    pair=other, last_seq=last[other.symbol]
                ).exists(),
                what="shard 1 to settle its market",
            )
        finally:
            output = stop(second)
    finally:
        output = stop(first) + output
    # then every fill of both markets is applied exactly once
    for pair in two_markets:
        assert Trade.objects.filter(pair=pair).count() == 5, output
        assert Fill.objects.filter(pair=pair).count() == 10
    for buyer in buyers:
        assert balance(buyer, "LPJ") == (D(2), D(0))
        assert balance(buyer, "BTC") == (D("0.002"), D(0))
