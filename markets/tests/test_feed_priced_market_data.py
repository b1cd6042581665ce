"""Market data of feed-priced markets in the markets app alone: observation deltas, the order
keys that let the feed's open/close win over trades', and the ticker's feed ``last``
(the feeds app's provider is replaced by a fixed price here)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from markets import price_sources, ticker
from markets.candles import TRADE_OPEN_BASE, feed_candle_deltas, observation_key
from markets.models import Candle
from markets.price_sources import LatestPrice
from markets.services import TradeInput, trades_record

pytestmark = pytest.mark.django_db


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


class FixedSource:
    """A price source serving the prices a test sets (``prices[symbol]``), observed now."""

    def __init__(self, prices: dict[str, D]) -> None:
        self.prices = prices

    def latest_many(self, pairs):
        now = datetime.now(UTC)
        return {
            p.symbol: LatestPrice(
                price=self.prices[p.symbol], received_at=now, age_ms=0, source_ts_ms=None
            )
            if p.symbol in self.prices
            else None
            for p in pairs
        }

    def market_order_price(self, pair):
        return self.prices[pair.symbol]

    def stale_after_ms(self) -> int:
        return 60_000


@pytest.fixture
def feed_price() -> Iterator[dict[str, D]]:
    prices: dict[str, D] = {}
    registered = dict(price_sources._sources)
    price_sources._sources.clear()
    price_sources.register(FixedSource(prices))
    yield prices
    price_sources._sources.clear()
    price_sources._sources.update(registered)


def test_observation_deltas_take_open_close_by_entry_id_not_arrival_order() -> None:
    # given observations handed over out of order, two in one millisecond
    t = ms("2025-03-01 04:00:10")
    observations = [
        (f"{t + 5}-0", D(7)),
        (f"{t}-1", D(6)),
        (f"{t}-0", D(5)),
        (f"{t + 9}-0", D(9)),
        (f"{t + 7}-0", D(1)),
    ]
    # when they are aggregated
    deltas = {d.interval: d for d in feed_candle_deltas(observations)}
    # then open is the lowest id's, close the highest's, and they carry no volume
    m1 = deltas["1m"]
    assert (m1.open, m1.high, m1.low, m1.close, m1.volume, m1.trade_count) == (
        D(5),
        D(9),
        D(1),
        D(9),
        D(0),
        0,
    )
    assert (m1.first_sequence, m1.last_sequence) == (
        observation_key(f"{t}-0"),
        observation_key(f"{t + 9}-0"),
    )
    assert len(deltas) == 6


def test_trade_keys_of_a_feed_market_rank_around_every_observation(btc_krw) -> None:
    # given a feed-priced market
    btc_krw.price_source = "sim"
    btc_krw.save()
    # when a trade is recorded
    trades_record(
        pair=btc_krw,
        trades=[
            TradeInput(
                sequence=42,
                created_at=datetime(2025, 3, 1, 4, tzinfo=UTC),
                price=D(10),
                quantity=D(1),
                taker_side="buy",
            )
        ],
    )
    # then its open key is above any observation's and its close key below
    candle = Candle.objects.get(pair=btc_krw, interval="1m")
    assert candle.first_sequence == TRADE_OPEN_BASE + 42
    assert candle.last_sequence == 42 < observation_key("1-0")
    assert observation_key(f"{ms('2100-01-01 00:00')}-1023") < TRADE_OPEN_BASE


def test_a_feed_markets_ticker_shows_the_feed_price_and_trade_volume(btc_krw, feed_price) -> None:
    # given a feed-priced market with one trade at 100 an hour ago and the feed now at 120
    btc_krw.price_source = "sim"
    btc_krw.save()
    now = datetime.now(UTC)
    trades_record(
        pair=btc_krw,
        trades=[
            TradeInput(
                sequence=1,
                created_at=now - timedelta(hours=1),
                price=D(100),
                quantity=D(2),
                taker_side="buy",
            )
        ],
    )
    feed_price[btc_krw.symbol] = D(120)
    # when the ticker is computed
    result = ticker.ticker_compute(pair=btc_krw, now=now)
    # then last is the feed's, high covers it, volume is the trade's
    assert (result["last"], result["open_24h"], result["high_24h"], result["low_24h"]) == (
        "120",
        "100",
        "120",
        "100",
    )
    assert (result["volume_24h"], result["change_24h_pct"]) == ("2.0000", "20.00")


def test_a_book_markets_ticker_ignores_the_feed_provider(btc_krw, feed_price) -> None:
    # given a book market with a trade at 100 and a (wrong) feed price under its name
    now = datetime.now(UTC)
    trades_record(
        pair=btc_krw,
        trades=[
            TradeInput(
                sequence=1,
                created_at=now - timedelta(hours=1),
                price=D(100),
                quantity=D(1),
                taker_side="buy",
            )
        ],
    )
    feed_price[btc_krw.symbol] = D(999)
    # when the ticker is computed
    result = ticker.ticker_compute(pair=btc_krw, now=now)
    # then it is the trades' alone
    assert (result["last"], result["high_24h"]) == ("100", "100")


def test_ticker_with_price_moves_last_and_widens_the_range() -> None:
    # given a cached ticker open 100, high 110, low 95, last 105
    cached = {
        "symbol": "X-KRW",
        "last": "105",
        "open_24h": "100",
        "high_24h": "110",
        "low_24h": "95",
        "volume_24h": "3",
        "change_24h_pct": "5.00",
        "best_bid": None,
        "best_ask": None,
    }
    # when the feed moves to 90
    moved = ticker.ticker_with_price(ticker=cached, price=D(90), places=0)
    # then last is 90, low widened to it, the change is from the open, the volume is kept
    assert (
        moved["last"],
        moved["low_24h"],
        moved["high_24h"],
        moved["change_24h_pct"],
        moved["volume_24h"],
    ) == ("90", "90", "110", "-10.00", "3")
