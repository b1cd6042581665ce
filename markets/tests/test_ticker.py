"""The 24h rolling ticker and its Redis cache."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from django.db import transaction
from django.utils import timezone

from markets import ticker
from markets.services import TradeInput, trades_record

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 12, 0, 30, tzinfo=UTC)


def trade(sequence: int, ago: timedelta, price: int, quantity: str, now: datetime = NOW):
    return TradeInput(
        sequence=sequence,
        created_at=now - ago,
        price=D(price),
        quantity=D(quantity),
        taker_side="buy",
    )


def test_the_window_is_the_last_24_hours_to_the_second(btc_krw) -> None:
    # given trades 25h ago, 10s before the window, 10s inside it, and later ones
    trades_record(
        pair=btc_krw,
        trades=[
            trade(1, timedelta(hours=25), 1000, "5"),
            trade(2, timedelta(hours=24, seconds=10), 9000, "7"),  # same minute as the window start
            trade(3, timedelta(hours=24) - timedelta(seconds=10), 2000, "1"),
            trade(4, timedelta(hours=23), 3000, "2"),
            trade(5, timedelta(hours=1), 1500, "1"),
            trade(6, timedelta(seconds=10), 2500, "1"),
        ],
    )
    # when the ticker is computed at NOW
    result = ticker.ticker_compute(pair=btc_krw, now=NOW)
    # then only the last four count: open 2000, last 2500, +25%
    assert result == {
        "symbol": "BTC-KRW",
        "last": "2500",
        "best_bid": None,
        "best_ask": None,
        "open_24h": "2000",
        "high_24h": "3000",
        "low_24h": "1500",
        "volume_24h": "5.0000",
        "quote_volume_24h": "12000",
        "change_24h_pct": "25.00",
        "ts": "2026-03-10T12:00:30.000Z",
    }


def test_a_market_quiet_for_a_day_shows_its_last_price_and_no_volume(btc_krw) -> None:
    # given one trade 30 hours ago
    trades_record(pair=btc_krw, trades=[trade(1, timedelta(hours=30), 4000, "2")])
    # when
    result = ticker.ticker_compute(pair=btc_krw, now=NOW)
    # then
    assert (result["last"], result["open_24h"], result["high_24h"], result["low_24h"]) == (
        "4000",
        "4000",
        "4000",
        "4000",
    )
    assert (result["volume_24h"], result["quote_volume_24h"], result["change_24h_pct"]) == (
        "0.0000",
        "0",
        "0.00",
    )


def test_a_market_without_trades_has_null_prices(btc_krw) -> None:
    result = ticker.ticker_compute(pair=btc_krw, now=NOW)
    assert result["last"] is None
    assert result["change_24h_pct"] is None
    assert result["volume_24h"] == "0.0000"


def test_the_write_path_refreshes_the_cached_ticker_after_commit(
    btc_krw, redis_client, django_capture_on_commit_callbacks
) -> None:
    # given a cached ticker without trades
    ticker.ticker_get(pair=btc_krw)
    assert json.loads(redis_client.get("ticker:{BTC-KRW}"))["last"] is None
    # when a batch of trades commits
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        trades_record(
            pair=btc_krw,
            trades=[
                trade(1, timedelta(minutes=5), 5000, "1", now),
                trade(2, timedelta(minutes=1), 5100, "1", now),
            ],
        )
    # then the cache holds the new figures, with an expiry so the window keeps rolling
    cached = json.loads(redis_client.get("ticker:{BTC-KRW}"))
    assert (cached["last"], cached["open_24h"], cached["change_24h_pct"]) == (
        "5100",
        "5000",
        "2.00",
    )
    assert 0 < redis_client.ttl("ticker:{BTC-KRW}") <= ticker.TICKER_TTL_SECONDS
    assert ticker.ticker_get(pair=btc_krw)["last"] == "5100"


def test_a_missing_cache_entry_is_recomputed(btc_krw, redis_client) -> None:
    # given trades but nothing cached (e.g. Redis restarted)
    now = timezone.now()
    trades_record(pair=btc_krw, trades=[trade(1, timedelta(minutes=2), 7000, "1", now)])
    redis_client.delete("ticker:{BTC-KRW}")
    # when read
    result = ticker.ticker_get(pair=btc_krw)
    # then computed and cached
    assert result["last"] == "7000"
    assert json.loads(redis_client.get("ticker:{BTC-KRW}"))["last"] == "7000"


def test_best_bid_and_ask_come_from_the_registered_book_provider(btc_krw, redis_client) -> None:
    # given no provider: null
    assert ticker.ticker_get(pair=btc_krw)["best_bid"] is None
    # when the settlement app registers one
    ticker.set_book_top_provider(
        lambda pair: (D("4999"), None) if pair.symbol == "BTC-KRW" else (None, None)
    )
    # then it is read live (not cached), formatted to the tick
    result = ticker.ticker_get(pair=btc_krw)
    assert (result["best_bid"], result["best_ask"]) == ("4999", None)
    assert json.loads(redis_client.get("ticker:{BTC-KRW}"))["best_bid"] is None


def test_a_failing_book_provider_leaves_the_rest_of_the_ticker(btc_krw, redis_client) -> None:
    def broken(pair):
        raise ConnectionError("engine down")

    ticker.set_book_top_provider(broken)
    result = ticker.ticker_get(pair=btc_krw)
    assert result["symbol"] == "BTC-KRW"
    assert result["best_bid"] is None
