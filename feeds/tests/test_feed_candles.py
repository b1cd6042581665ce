"""Candles and tickers of feed-priced markets follow the price feed (docs/feeds.md "Candles and
ticker"); volume and trade counts still come only from trades.

Market XRP-KRW (sim-priced, tick 1 KRW). Observations go through the real poll path
(``observations_record``, the seeded simulator) wherever their exact times do not matter. Where
they must fall on chosen sides of interval boundaries, ``window_add`` writes the very entry
``feed_observe.lua`` writes (fields p, raw, src, seq) with a chosen id, because the script stamps
entries with Redis ``TIME``, which a test cannot set."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
from channels.db import database_sync_to_async
from django.test import override_settings

from engine.keys import feed_stats_key, prices_key
from feeds.market_data import CANDLES_CURSOR_FIELD, feed_candles_roll, feed_tickers_refresh
from feeds.polling import feed_poll, price_ticks, source_cache_clear, source_get
from feeds.sources import SimSource
from markets.models import Candle, Trade, TradingPair
from markets.services import TradeInput, pair_create, trades_record
from markets.ticker import ticker_get, ticker_key, ticker_refresh
from realtime.tests.conftest import Client, run
from tradehive.money import format_decimal
from tradehive.push import DIRTY_TICKER
from tradehive.redis_client import get_redis

pytestmark = pytest.mark.django_db(transaction=True)

SEED = 424242


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def window_add(pair: TradingPair, moment: datetime, price: str) -> str:
    """Append an observation received at ``moment`` (what feed_observe.lua writes)."""
    ms = int(moment.timestamp() * 1000)
    return get_redis().xadd(
        prices_key(pair.symbol),  # type: ignore[return-value] # redis-py types sync and async answers as one union
        {"p": str(price_ticks(D(price), pair.tick_size)), "raw": price, "src": "", "seq": "0"},
        id=f"{ms}-0",
    )


def ohlc(pair: TradingPair, interval: str) -> dict[datetime, tuple]:
    return {
        c.bucket: (c.open, c.high, c.low, c.close, c.volume, c.trade_count)
        for c in Candle.objects.filter(pair=pair, interval=interval).order_by("bucket")
    }


def trade(sequence: int, moment: datetime, price: int, quantity: str) -> TradeInput:
    return TradeInput(
        sequence=sequence, created_at=moment, price=D(price), quantity=D(quantity), taker_side="buy"
    )


@pytest.fixture
def seeded_sim():
    """The simulator with a fixed seed for XRP-KRW (start 3000, as in settings)."""
    with override_settings(
        FEED_SIM={
            "seed": SEED,
            "drift": 0.0,
            "volatility": 5.0,
            "markets": {"XRP-KRW": {"start": "3000"}},
            "default_start_ticks": 10000,
        }
    ):
        source_cache_clear()
        yield source_get("sim")
        source_cache_clear()


def test_observations_across_boundaries_give_exact_ohlc_per_interval(xrp_krw) -> None:
    # given observations on both sides of 03:59/04:00 (1m, 5m, 1h, 4h), 04:05 and 04:15 (15m)
    for moment, price in [
        ("2025-03-01 03:59:00.100", "100"),
        ("2025-03-01 03:59:30", "107"),
        ("2025-03-01 03:59:59.999", "95"),
        ("2025-03-01 04:00:00", "96"),
        ("2025-03-01 04:00:40", "120"),
        ("2025-03-01 04:04:59.999", "90"),
        ("2025-03-01 04:05:00", "91"),
        ("2025-03-01 04:15:00.500", "99"),
    ]:
        window_add(xrp_krw, at(moment), price)
    # when the roll runs
    outcome = feed_candles_roll()
    # then each interval's buckets hold exactly their observations' OHLC, with no volume
    assert (outcome.markets, outcome.observations) == (1, 8)
    assert ohlc(xrp_krw, "1m") == {
        at("2025-03-01 03:59"): (D(100), D(107), D(95), D(95), D(0), 0),
        at("2025-03-01 04:00"): (D(96), D(120), D(96), D(120), D(0), 0),
        at("2025-03-01 04:04"): (D(90), D(90), D(90), D(90), D(0), 0),
        at("2025-03-01 04:05"): (D(91), D(91), D(91), D(91), D(0), 0),
        at("2025-03-01 04:15"): (D(99), D(99), D(99), D(99), D(0), 0),
    }
    assert ohlc(xrp_krw, "5m") == {
        at("2025-03-01 03:55"): (D(100), D(107), D(95), D(95), D(0), 0),
        at("2025-03-01 04:00"): (D(96), D(120), D(90), D(90), D(0), 0),
        at("2025-03-01 04:05"): (D(91), D(91), D(91), D(91), D(0), 0),
        at("2025-03-01 04:15"): (D(99), D(99), D(99), D(99), D(0), 0),
    }
    assert ohlc(xrp_krw, "15m") == {
        at("2025-03-01 03:45"): (D(100), D(107), D(95), D(95), D(0), 0),
        at("2025-03-01 04:00"): (D(96), D(120), D(90), D(91), D(0), 0),
        at("2025-03-01 04:15"): (D(99), D(99), D(99), D(99), D(0), 0),
    }
    assert ohlc(xrp_krw, "1h") == {
        at("2025-03-01 03:00"): (D(100), D(107), D(95), D(95), D(0), 0),
        at("2025-03-01 04:00"): (D(96), D(120), D(90), D(99), D(0), 0),
    }
    assert ohlc(xrp_krw, "4h") == {
        at("2025-03-01 00:00"): (D(100), D(107), D(95), D(95), D(0), 0),
        at("2025-03-01 04:00"): (D(96), D(120), D(90), D(99), D(0), 0),
    }
    assert ohlc(xrp_krw, "1d") == {at("2025-03-01"): (D(100), D(120), D(90), D(99), D(0), 0)}


def test_rolls_split_across_runs_give_the_same_candles_as_one(xrp_krw) -> None:
    # given observations rolled in two runs, the second one extending the same buckets
    window_add(xrp_krw, at("2025-03-01 04:00:01"), "100")
    window_add(xrp_krw, at("2025-03-01 04:00:02"), "110")
    feed_candles_roll()
    window_add(xrp_krw, at("2025-03-01 04:00:03"), "90")
    window_add(xrp_krw, at("2025-03-01 04:00:04"), "105")
    # when the second run rolls
    outcome = feed_candles_roll()
    # then it read only the new two, and the candle is open 100 / high 110 / low 90 / close 105
    assert outcome.observations == 2
    assert ohlc(xrp_krw, "1m") == {at("2025-03-01 04:00"): (D(100), D(110), D(90), D(105), D(0), 0)}


def test_trades_add_volume_and_widen_high_low_but_open_close_follow_the_feed(xrp_krw) -> None:
    # given a trade at 04:00:00.5 recorded before any observation of that minute was rolled
    trades_record(pair=xrp_krw, trades=[trade(7, at("2025-03-01 04:00:00.500"), 130, "2")])
    # when observations around it are rolled, then a later trade (higher sequence) comes in
    window_add(xrp_krw, at("2025-03-01 04:00:00.100"), "100")
    window_add(xrp_krw, at("2025-03-01 04:00:30"), "104")
    feed_candles_roll()
    trades_record(
        pair=xrp_krw,
        trades=[
            trade(9, at("2025-03-01 04:00:40"), 85, "3"),
            trade(10, at("2025-03-01 04:00:41"), 101, "1"),
        ],
    )
    # then open/close are the first/last observation, high/low cover trades and feed, and
    # volume and trade count come only from the three trades
    assert ohlc(xrp_krw, "1m") == {at("2025-03-01 04:00"): (D(100), D(130), D(85), D(104), D(6), 3)}
    assert ohlc(xrp_krw, "1d")[at("2025-03-01")] == (D(100), D(130), D(85), D(104), D(6), 3)


def test_a_bucket_only_trades_touched_takes_open_close_from_the_trades(xrp_krw) -> None:
    # given a minute without observations (the feed was down) and two trades in it
    trades_record(pair=xrp_krw, trades=[trade(2, at("2025-03-01 05:00:20"), 103, "1")])
    trades_record(
        pair=xrp_krw,
        trades=[
            trade(1, at("2025-03-01 05:00:10"), 99, "1"),
            trade(3, at("2025-03-01 05:00:30"), 97, "1"),
        ],
    )
    # when the roll runs (nothing to roll)
    feed_candles_roll()
    # then the trades set the candle, in sequence order
    assert ohlc(xrp_krw, "1m") == {at("2025-03-01 05:00"): (D(99), D(103), D(97), D(97), D(3), 3)}


def test_settled_feed_fills_count_as_volume_once_and_rolling_again_counts_nothing(
    xrp_krw, make_user, settle, observe, match_pass, ledger_clean
) -> None:
    # given a resting buy 10 @ 100 filled by the feed's 99, and observations 101, 99, 102
    from orders.services import order_place

    order_place(
        user=make_user(KRW="10000"),
        symbol="XRP-KRW",
        side="buy",
        type="limit",
        quantity=D(10),
        price=D(100),
    )
    settle(xrp_krw)
    observe(xrp_krw, "101", "99")
    match_pass()
    settle(xrp_krw)
    observe(xrp_krw, "102")
    # when the roll runs twice, and once more with its cursor forgotten (a crashed run)
    first = feed_candles_roll()
    candles = ohlc(xrp_krw, "1m")
    second = feed_candles_roll()
    get_redis().hdel(feed_stats_key("XRP-KRW"), CANDLES_CURSOR_FIELD)
    feed_candles_roll()
    # then the first roll read the three observations, the second none, and no re-roll changed
    # a candle: volume is the one fill's 10, high/low span the feed's 102 and 99
    assert (first.observations, second.observations) == (3, 0)
    assert ohlc(xrp_krw, "1m") == candles
    minutes = list(candles.values())
    assert sum(c[4] for c in minutes) == D(10) == Trade.objects.get().quantity
    assert sum(c[5] for c in minutes) == 1
    assert max(c[1] for c in minutes) == D(102)
    assert min(c[2] for c in minutes) == D(99)
    assert (minutes[0][0], minutes[-1][3]) == (D(101), D(102))


def test_the_ticker_last_is_the_latest_seeded_sim_observation(
    xrp_krw, seeded_sim, redis_client
) -> None:
    # given six polls of the seeded simulator, rolled into candles
    path = seeded_sim.path("XRP-KRW", 6)
    for _ in range(6):
        feed_poll(source="sim")
    feed_candles_roll()
    assert isinstance(seeded_sim, SimSource)
    ticks = [price_ticks(p, xrp_krw.tick_size) * xrp_krw.tick_size for p in path]
    # when the ticker is computed (no trade ever happened)
    ticker = ticker_refresh(pair=xrp_krw)
    # then last is the sixth observation, open/high/low come from the feed, volume is zero
    assert D(ticker["last"]) == ticks[-1]
    assert (D(ticker["open_24h"]), D(ticker["high_24h"]), D(ticker["low_24h"])) == (
        ticks[0],
        max(ticks),
        min(ticks),
    )
    assert D(ticker["volume_24h"]) == 0
    expected_change = (ticks[-1] - ticks[0]) / ticks[0] * 100
    assert ticker["change_24h_pct"] == format_decimal(expected_change, 2)


def test_the_cached_ticker_follows_the_feed_and_is_pushed(
    xrp_krw, seeded_sim, redis_client, client
) -> None:
    # given a cached ticker and a seventh poll moving the price
    for _ in range(3):
        feed_poll(source="sim")
    ticker_refresh(pair=xrp_krw)
    redis_client.delete(DIRTY_TICKER)
    feed_poll(source="sim")
    latest = price_ticks(seeded_sim.path("XRP-KRW", 4)[-1], xrp_krw.tick_size)
    # when the ticker refresh runs, then again without a new observation
    moved = feed_tickers_refresh()
    again = feed_tickers_refresh()
    # then the cached ticker (REST and the page) shows the newest observation, the market is
    # marked for the websocket ticker push, and an unmoved feed changes nothing
    assert (moved.moved, again.moved) == (["XRP-KRW"], [])
    cached = json.loads(redis_client.get(ticker_key("XRP-KRW")))
    assert D(cached["last"]) == latest
    assert redis_client.ttl(ticker_key("XRP-KRW")) > 0
    assert D(ticker_get(pair=xrp_krw)["last"]) == latest
    assert D(client.get("/api/v1/markets/XRP-KRW/ticker").json()["last"]) == latest
    assert redis_client.smembers(DIRTY_TICKER) == {"XRP-KRW"}


def test_an_expired_ticker_is_recomputed_by_the_refresh(xrp_krw, seeded_sim, redis_client) -> None:
    # given observations and no cached ticker
    feed_poll(source="sim")
    # when the refresh runs
    outcome = feed_tickers_refresh()
    # then it recomputed and cached it, with a TTL
    assert outcome.recomputed == ["XRP-KRW"]
    assert redis_client.ttl(ticker_key("XRP-KRW")) > 0


def test_a_book_priced_market_is_untouched(xrp_krw, redis_client) -> None:
    # given a book-priced market with two trades, a stray entry in a window of its name, and
    # a feed observation of the feed market
    lpj = pair_create(
        base=xrp_krw.base.__class__.objects.get(symbol="BTC"),
        quote=xrp_krw.quote,
        tick_size=D(1),
        lot_size=D(1),
        min_notional=D(1),
        actor=None,
    )
    trades_record(
        pair=lpj,
        trades=[
            trade(1, at("2025-03-01 04:00:10"), 50, "1"),
            trade(2, at("2025-03-01 04:00:20"), 55, "2"),
        ],
    )
    window_add(lpj, at("2025-03-01 04:00:30"), "500")
    window_add(xrp_krw, at("2025-03-01 04:00:30"), "100")
    ticker_refresh(pair=lpj)
    cached = redis_client.get(ticker_key(lpj.symbol))
    # when the roll and the ticker refresh run
    roll = feed_candles_roll()
    refresh = feed_tickers_refresh()
    # then the book market's candles are its trades' (plain sequences), its ticker its last
    # trade's, and neither task touched it
    assert roll.markets == 1
    assert lpj.symbol not in refresh.moved + refresh.recomputed
    assert ohlc(lpj, "1m") == {at("2025-03-01 04:00"): (D(50), D(55), D(50), D(55), D(3), 2)}
    candle = Candle.objects.get(pair=lpj, interval="1m")
    assert (candle.first_sequence, candle.last_sequence) == (1, 2)
    assert redis_client.get(ticker_key(lpj.symbol)) == cached
    assert json.loads(cached)["last"] == "55"


def test_a_spike_between_two_refreshes_still_widens_the_cached_high(
    xrp_krw, observe, redis_client
) -> None:
    # given a cached ticker at 100, then the feed spikes to 130 and falls back to 101
    observe(xrp_krw, "100")
    feed_candles_roll()
    ticker_refresh(pair=xrp_krw)
    observe(xrp_krw, "130", "101")
    # when the refresh runs (before the next roll)
    feed_tickers_refresh()
    # then last is 101 and the 24h high is the spike, as the next candle will show
    cached = json.loads(redis_client.get(ticker_key("XRP-KRW")))
    assert (cached["last"], cached["high_24h"], cached["low_24h"]) == ("101", "130", "100")


def test_a_candle_roll_pushes_the_changed_candles_to_chart_subscribers(xrp_krw) -> None:
    # given a chart subscribed to XRP-KRW's 1m candles (not 5m), and a new observation
    outcome = None

    async def scenario() -> None:
        nonlocal outcome
        client = Client()
        await client.connect()
        await client.send({"op": "subscribe", "channels": ["candles:XRP-KRW:1m"]})
        assert (await client.recv())["op"] == "subscribed"
        initial = await client.recv_until(lambda m: m.get("channel") == "candles:XRP-KRW:1m")
        assert initial["data"] == []
        window_add(xrp_krw, datetime.now(UTC), "105")
        # when the roll-up runs
        outcome = await database_sync_to_async(feed_candles_roll)()
        # then the subscriber gets the candle it changed, live
        pushed = await client.recv_until(lambda m: m.get("channel") == "candles:XRP-KRW:1m")
        assert [(c["o"], c["h"], c["l"], c["c"]) for c in pushed["data"]] == [
            ("105", "105", "105", "105")
        ]
        await client.close()

    run(scenario)
    assert outcome is not None
    assert (outcome.rows, outcome.pushed) == (6, 1)  # six intervals rolled, one listened to


def test_a_candle_roll_with_no_chart_open_pushes_nothing(xrp_krw) -> None:
    # given an observation and no subscriber
    window_add(xrp_krw, datetime.now(UTC), "105")
    # when
    outcome = feed_candles_roll()
    # then
    assert (outcome.rows, outcome.pushed) == (6, 0)
