"""Price sources: the simulator's determinism, and the HTTP adapters against a local stub that
serves each exchange's documented payload shape (no internet)."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test import override_settings

from engine.keys import prices_key
from feeds.errors import SourceUnavailable
from feeds.polling import PollOutcome, feed_poll, source_cache_clear
from feeds.sources import (
    BinanceSource,
    BithumbSource,
    FeedMarket,
    SimParams,
    SimSource,
    UpbitSource,
)

BTC = FeedMarket(symbol="BTC-KRW", base="BTC", quote="KRW", tick_size=Decimal(1000))
ETH = FeedMarket(symbol="ETH-KRW", base="ETH", quote="KRW", tick_size=Decimal(1000))
BTC_USDT = FeedMarket(symbol="BTC-USDT", base="BTC", quote="USDT", tick_size=Decimal("0.01"))

# Shapes from the exchanges' API references (abridged to the fields the adapters read + a few).
UPBIT_TICKER = [
    {
        "market": "KRW-BTC",
        "trade_date": "20240901",
        "trade_time": "074102",
        "trade_timestamp": 1725176462139,
        "opening_price": 78900000.0,
        "high_price": 79500000.0,
        "low_price": 78500000.0,
        "trade_price": 79123000.0,
        "prev_closing_price": 78900000.0,
        "change": "RISE",
        "acc_trade_volume_24h": 2429.58834336,
        "timestamp": 1725176462178,
    },
    {
        "market": "KRW-ETH",
        "trade_timestamp": 1725176461000,
        "trade_price": 3456000.0,
        "timestamp": 1725176461050,
    },
]
BITHUMB_ALL_KRW = {
    "status": "0000",
    "data": {
        "BTC": {
            "opening_price": "78900000",
            "closing_price": "79120000",
            "min_price": "78500000",
            "max_price": "79500000",
            "units_traded": "1234.5",
            "acc_trade_value": "9.7e10",
            "prev_closing_price": "78900000",
            "units_traded_24H": "2000.1",
            "fluctate_24H": "220000",
            "fluctate_rate_24H": "0.28",
        },
        "ETH": {"opening_price": "3400000", "closing_price": "3455000"},
        "date": "1725176462622",
    },
}
BINANCE_PRICES = [
    {"symbol": "ETHBTC", "price": "0.04300000"},
    {"symbol": "BTCUSDT", "price": "57612.34000000"},
]


Route = tuple[int, Any]  # (status, JSON body)


class Stub:
    """A tiny HTTP server on 127.0.0.1: ``routes[path] = (status, body)`` or a list of them
    (served in turn, the last repeated); ``delay_s`` before each answer; ``hits`` per path."""

    def __init__(self) -> None:
        self.routes: dict[str, Route | list[Route]] = {}
        self.hits: dict[str, int] = {}
        self.queries: list[dict[str, list[str]]] = []
        self.delay_s = 0.0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                stub.hits[url.path] = stub.hits.get(url.path, 0) + 1
                stub.queries.append(parse_qs(url.query))
                time.sleep(stub.delay_s)
                route = stub.routes.get(url.path, (404, {"error": "not found"}))
                if isinstance(route, list):
                    route = route[min(stub.hits[url.path], len(route)) - 1]
                status, body = route
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                # A client that gave up waiting (the timeout tests) has closed its end.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub() -> Iterator[Stub]:
    server = Stub()
    yield server
    server.close()


def test_upbit_reads_every_market_in_one_request(stub) -> None:
    # given Upbit's ticker payload for KRW-BTC and KRW-ETH
    stub.routes["/v1/ticker"] = (200, UPBIT_TICKER)
    # when the adapter fetches both markets
    quotes = UpbitSource(base_url=stub.url).fetch([BTC, ETH])
    # then one request asked for both, prices are exact decimals with the trade timestamps
    assert stub.hits == {"/v1/ticker": 1}
    assert stub.queries[0]["markets"] == ["KRW-BTC,KRW-ETH"]
    assert quotes["BTC-KRW"].price == Decimal("79123000.0")
    assert quotes["BTC-KRW"].source_ts_ms == 1725176462139
    assert quotes["ETH-KRW"].price == Decimal("3456000.0")


def test_bithumb_reads_the_all_ticker_of_a_quote(stub) -> None:
    # given Bithumb's ALL_KRW payload
    stub.routes["/public/ticker/ALL_KRW"] = (200, BITHUMB_ALL_KRW)
    # when the adapter fetches BTC and ETH in KRW
    quotes = BithumbSource(base_url=stub.url).fetch([BTC, ETH])
    # then it used the closing prices and the payload's date
    assert stub.hits == {"/public/ticker/ALL_KRW": 1}
    assert (quotes["BTC-KRW"].price, quotes["BTC-KRW"].source_ts_ms) == (
        Decimal("79120000"),
        1725176462622,
    )
    assert quotes["ETH-KRW"].price == Decimal("3455000")


def test_binance_reads_all_prices_and_skips_unknown_symbols(stub) -> None:
    # given Binance's price ticker of every symbol
    stub.routes["/api/v3/ticker/price"] = (200, BINANCE_PRICES)
    # when the adapter fetches BTC-USDT
    quotes = BinanceSource(base_url=stub.url).fetch([BTC_USDT])
    # then only BTCUSDT is kept, with no source timestamp
    assert list(quotes) == ["BTC-USDT"]
    assert (quotes["BTC-USDT"].price, quotes["BTC-USDT"].source_ts_ms) == (
        Decimal("57612.34000000"),
        None,
    )


def test_bithumb_error_status_is_a_source_failure(stub) -> None:
    # given Bithumb answering with an error status
    stub.routes["/public/ticker/ALL_KRW"] = (200, {"status": "5600", "message": "busy"})
    # when / then the adapter raises SourceUnavailable
    with pytest.raises(SourceUnavailable):
        BithumbSource(base_url=stub.url).fetch([BTC])


def test_server_errors_are_retried_with_backoff(stub) -> None:
    # given Upbit failing twice with 503 and then answering
    stub.routes["/v1/ticker"] = [(503, {}), (503, {}), (200, UPBIT_TICKER)]
    source = UpbitSource(base_url=stub.url, retries=2, backoff_s=0.02)
    # when the adapter fetches
    started = time.monotonic()
    quotes = source.fetch([BTC])
    # then it succeeded on the third attempt after backing off 0.02 + 0.04 s
    assert stub.hits["/v1/ticker"] == 3
    assert time.monotonic() - started >= 0.06
    assert quotes["BTC-KRW"].price == Decimal("79123000.0")


def test_a_hanging_source_times_out_within_its_bound(stub) -> None:
    # given a source that answers only after 2 s
    stub.routes["/v1/ticker"] = (200, UPBIT_TICKER)
    stub.delay_s = 2.0
    source = UpbitSource(base_url=stub.url, timeout_s=0.1, retries=1, backoff_s=0.01)
    # when / then the fetch gives up after two attempts of 0.1 s, well before 2 s
    started = time.monotonic()
    with pytest.raises(SourceUnavailable):
        source.fetch([BTC])
    assert time.monotonic() - started < 1.0


def _sim(client, seed: int) -> SimSource:
    return SimSource(
        client=client,
        seed=seed,
        step_s=0.25,
        params=lambda symbol: SimParams(
            start=Decimal(1000), drift=Decimal(0), volatility=Decimal(50)
        ),
    )


def test_the_simulator_is_deterministic_for_a_seed(redis_client) -> None:
    # given two simulators with the same seed and one with another seed
    first, again, other = _sim(redis_client, 7), _sim(redis_client, 7), _sim(redis_client, 8)
    # when each produces 20 steps of BTC-KRW
    path = first.path("BTC-KRW", 20)
    # then the same seed gives the same path, another seed another, and prices move
    assert again.path("BTC-KRW", 20) == path
    assert other.path("BTC-KRW", 20) != path
    assert len(set(path)) > 1
    assert path != first.path("ETH-KRW", 20)


def test_sim_fetches_continue_the_same_path_across_processes(redis_client) -> None:
    # given a simulator whose state lives in Redis
    reference = _sim(redis_client, 7).path("BTC-KRW", 3)
    # when three fetches run on three instances (as three worker processes would)
    prices = [_sim(redis_client, 7).fetch([BTC])["BTC-KRW"].price for _ in range(3)]
    # then together they walked the seeded path step by step
    assert prices == reference


@pytest.mark.django_db(transaction=True)
def test_one_failing_source_does_not_block_another(stub, redis_client, make_pair) -> None:
    # given an upbit-priced and a sim-priced market, with upbit timing out
    make_pair("BTC", "KRW", source="upbit")
    make_pair("ETH", "KRW", source="sim")
    stub.routes["/v1/ticker"] = (200, UPBIT_TICKER)
    stub.delay_s = 1.0
    sources = {"upbit": {"url": stub.url, "timeout_s": 0.1, "retries": 1, "backoff_s": 0.01}}
    with override_settings(FEED_SOURCES=sources):
        source_cache_clear()
        # when both sources are polled at the same time
        results: dict[str, PollOutcome] = {}

        def poll(source: str) -> None:
            try:
                results[source] = feed_poll(source=source)
            finally:
                connection.close()  # this thread's own database connection

        threads = [threading.Thread(target=poll, args=(s,)) for s in ("upbit", "sim")]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        threads[1].join()
        sim_done = time.monotonic() - started
        threads[0].join()
    # then the sim poll observed ETH-KRW without waiting for upbit, which failed
    assert sim_done < 0.2
    assert results["sim"].observed == 1
    assert results["upbit"].error is not None
    assert redis_client.xlen(prices_key("ETH-KRW")) == 1
    assert redis_client.xlen(prices_key("BTC-KRW")) == 0


@pytest.fixture
def make_pair(db) -> Callable[..., object]:
    from markets.services import pair_create
    from wallets.seed import asset_seed_defaults

    assets = {a.symbol: a for a in asset_seed_defaults()}

    def make(base: str, quote: str, *, source: str, tick: str = "1000", lot: str = "0.001"):
        return pair_create(
            base=assets[base],
            quote=assets[quote],
            tick_size=Decimal(tick),
            lot_size=Decimal(lot),
            price_source=source,
            actor=None,
        )

    return make
