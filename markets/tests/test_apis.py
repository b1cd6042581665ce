"""The public market REST endpoints and their 400/404 envelopes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from markets.services import TradeInput, pair_set_status, trades_record

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def hourly(btc_krw):
    """Closes 10, 14, 12, 20 in four consecutive 1h candles (one trade each)."""
    trades_record(
        pair=btc_krw,
        trades=[
            TradeInput(
                sequence=n,
                created_at=T0 + timedelta(hours=n, minutes=5),
                price=D(close),
                quantity=D("0.5"),
                taker_side="buy",
            )
            for n, close in enumerate([10, 14, 12, 20])
        ],
    )
    return btc_krw


def test_markets_list_and_detail(api_client, btc_krw) -> None:
    body = api_client.get("/api/v1/markets").json()
    assert body == [
        {
            "symbol": "BTC-KRW",
            "base": "BTC",
            "quote": "KRW",
            "tick_size": "10000",
            "lot_size": "0.0001",
            "min_notional": "5000",
            "maker_fee": "0.0005",
            "taker_fee": "0.0015",
            "status": "active",
            "price_source": "book",
            "base_decimals": 8,
            "quote_decimals": 0,
            "last_price_at": None,
            "feed_age_ms": None,
        }
    ]
    assert api_client.get("/api/v1/markets/BTC-KRW").json() == body[0]


def test_a_halted_market_says_so(api_client, btc_krw) -> None:
    pair_set_status(pair=btc_krw, status="halted", actor=None)
    assert api_client.get("/api/v1/markets/BTC-KRW").json()["status"] == "halted"


@pytest.mark.parametrize(
    "path",
    [
        "markets/DOGE-KRW",
        "markets/DOGE-KRW/ticker",
        "markets/DOGE-KRW/trades",
        "markets/DOGE-KRW/candles",
        "markets/DOGE-KRW/indicators?sma=2",
    ],
)
def test_unknown_market_is_a_404_envelope(api_client, path) -> None:
    response = api_client.get(f"/api/v1/{path}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_market"


def test_trades_newest_first_with_limit(api_client, hourly) -> None:
    body = api_client.get("/api/v1/markets/BTC-KRW/trades?limit=2").json()
    assert [t["price"] for t in body] == ["20", "12"]
    assert body[0]["quantity"] == "0.5000"
    assert body[0]["taker_side"] == "buy"
    assert body[0]["created_at"] == "2026-03-01T13:05:00.000Z"


def test_candles_oldest_first_filtered_by_time(api_client, hourly) -> None:
    # all of them
    body = api_client.get("/api/v1/markets/BTC-KRW/candles?interval=1h").json()
    assert [c["t"] for c in body] == [f"2026-03-01T{h}:00:00.000Z" for h in (10, 11, 12, 13)]
    assert body[0] == {
        "t": "2026-03-01T10:00:00.000Z",
        "o": "10",
        "h": "10",
        "l": "10",
        "c": "10",
        "v": "0.5000",
    }
    # start (ISO) and end (epoch ms) inclusive of open times
    end_ms = int(datetime(2026, 3, 1, 12, tzinfo=UTC).timestamp() * 1000)
    body = api_client.get(
        "/api/v1/markets/BTC-KRW/candles",
        {"interval": "1h", "start": "2026-03-01T11:00:00Z", "end": str(end_ms)},
    ).json()
    assert [c["c"] for c in body] == ["14", "12"]
    # without start, limit keeps the latest ones, still oldest first
    body = api_client.get("/api/v1/markets/BTC-KRW/candles?interval=1h&limit=2").json()
    assert [c["c"] for c in body] == ["12", "20"]
    # one 4h candle 08:00 holds 10, 11 ; the 12:00 one holds 12, 13
    body = api_client.get("/api/v1/markets/BTC-KRW/candles?interval=4h").json()
    assert [(c["o"], c["h"], c["l"], c["c"], c["v"]) for c in body] == [
        ("10", "14", "10", "14", "1.0000"),
        ("12", "20", "12", "20", "1.0000"),
    ]


def test_indicators_align_with_candles_and_null_until_the_period(api_client, hourly) -> None:
    # when asked for the four 1h candles' indicators
    body = api_client.get(
        "/api/v1/markets/BTC-KRW/indicators",
        {"interval": "1h", "sma": "2,5", "ema": "3", "bollinger": "2,2"},
    ).json()
    # then (hand-computed in test_indicators; 4 extra decimals over the 1 KRW tick)
    assert body["t"] == [f"2026-03-01T{h}:00:00.000Z" for h in (10, 11, 12, 13)]
    assert body["sma_2"] == [None, "12.0000", "13.0000", "16.0000"]
    assert body["sma_5"] == [None, None, None, None]
    assert body["ema_3"] == [None, None, "12.0000", "16.0000"]
    assert body["bb_mid"] == [None, "12.0000", "13.0000", "16.0000"]
    assert body["bb_upper"] == [None, "16.0000", "15.0000", "24.0000"]
    assert body["bb_lower"] == [None, "8.0000", "11.0000", "8.0000"]


def test_indicators_warm_up_on_candles_before_the_range(api_client, hourly) -> None:
    # when only the last candle is asked for, the SMA(2) still uses the one before it
    body = api_client.get(
        "/api/v1/markets/BTC-KRW/indicators",
        {"interval": "1h", "sma": "2", "start": "2026-03-01T13:00:00Z"},
    ).json()
    assert body == {"t": ["2026-03-01T13:00:00.000Z"], "sma_2": ["16.0000"]}


def test_ticker_and_tickers(api_client, btc_krw, redis_client) -> None:
    now = timezone.now()
    trades_record(
        pair=btc_krw,
        trades=[
            TradeInput(
                sequence=1,
                created_at=now - timedelta(hours=2),
                price=D(100),
                quantity=D(1),
                taker_side="sell",
            ),
            TradeInput(
                sequence=2,
                created_at=now - timedelta(minutes=1),
                price=D(90),
                quantity=D(1),
                taker_side="buy",
            ),
        ],
    )
    one = api_client.get("/api/v1/markets/BTC-KRW/ticker").json()
    assert (one["last"], one["open_24h"], one["change_24h_pct"]) == ("90", "100", "-10.00")
    assert one["quote_volume_24h"] == "190"
    assert set(one) == {
        "symbol",
        "last",
        "best_bid",
        "best_ask",
        "open_24h",
        "high_24h",
        "low_24h",
        "volume_24h",
        "quote_volume_24h",
        "change_24h_pct",
        "ts",
    }
    assert api_client.get("/api/v1/tickers").json() == [one]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("candles?interval=2m", "interval"),
        ("candles?limit=0", "limit"),
        ("candles?limit=1001", "limit"),
        ("candles?limit=ten", "limit"),
        ("candles?start=2026-03-02T00:00:00Z&end=2026-03-01T00:00:00Z", "start"),
        ("candles?start=yesterday", "start"),
        ("candles?end=2026-13-01T00:00:00Z", "end"),
        ("candles?end=99999999999999999", "end"),
        ("trades?limit=1001", "limit"),
        ("trades?limit=0", "limit"),
        ("indicators?interval=1w&sma=2", "interval"),
        ("indicators?sma=0", "sma"),
        ("indicators?sma=501", "sma"),
        ("indicators?ema=-3", "ema"),
        ("indicators?ema=2.5", "ema"),
        ("indicators?sma=1,2,3,4,5,6", "sma"),
        ("indicators?bollinger=20,0", "bollinger"),
        ("indicators?bollinger=20,-2", "bollinger"),
        ("indicators?bollinger=20,abc", "bollinger"),
        ("indicators?bollinger=0,2", "bollinger"),
        ("indicators?bollinger=20,2,3", "bollinger"),
        ("indicators?bollinger=20,11", "bollinger"),
        ("indicators", "sma"),
        ("indicators?sma=2&limit=5000", "limit"),
    ],
)
def test_bad_query_parameters_get_400_envelopes(api_client, btc_krw, query, field) -> None:
    response = api_client.get(f"/api/v1/markets/BTC-KRW/{query}")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert field in error["fields"]
