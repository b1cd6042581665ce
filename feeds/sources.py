"""Price sources behind one small interface: ``fetch(markets) -> {symbol: Quote}``.

One call fetches every market the source prices (one HTTP request per call for the HTTP
adapters: the exchanges' "all tickers" endpoints). A source either answers or raises
``SourceUnavailable`` after its retries; the poll of one source never waits on another
(each source is polled by its own task under its own lock, ``feeds.polling.feed_poll``).

- ``sim``: geometric Brownian motion per market, deterministic for a seed. State (step number,
  price) lives in Redis (``feeds:sim`` hash) so every worker process continues the same path.
- ``upbit``: ``GET /v1/ticker?markets=KRW-BTC,...`` -> ``[{"market", "trade_price",
  "trade_timestamp", "timestamp", ...}]``.
- ``bithumb``: ``GET /public/ticker/ALL_{QUOTE}`` -> ``{"status": "0000", "data": {"BTC":
  {"closing_price": "..."}, ..., "date": "<ms>"}}`` (one request per quote currency).
- ``binance``: ``GET /api/v3/ticker/price`` -> ``[{"symbol": "BTCUSDT", "price": "..."}]``
  (no timestamp: the received time stands in)."""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

import httpx
import redis

from feeds.errors import SourceUnavailable

logger = logging.getLogger(__name__)

SECONDS_PER_YEAR = Decimal(365 * 24 * 3600)
SIM_STATE_KEY = "feeds:sim"


@dataclass(frozen=True, slots=True)
class FeedMarket:
    """A feed-priced market as a source sees it. ``feed_symbol``: the market's name at the
    source ('' = the source's default naming of ``base``/``quote``)."""

    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    feed_symbol: str = ""


@dataclass(frozen=True, slots=True)
class Quote:
    """One price. ``source_ts_ms``: the source's timestamp of it, None when it gives none."""

    price: Decimal
    source_ts_ms: int | None


class PriceSource(Protocol):
    name: str

    def fetch(self, markets: Sequence[FeedMarket]) -> dict[str, Quote]:
        """Prices of ``markets`` keyed by our symbol; markets the source lacks are left out.
        Raises ``SourceUnavailable`` when the source cannot be read."""
        ...


# --- the simulator -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SimParams:
    start: Decimal
    drift: Decimal  # annualised mu
    volatility: Decimal  # annualised sigma


@dataclass
class SimSource:
    """GBM: ``S(t+dt) = S(t) * exp((mu - sigma^2/2) dt + sigma sqrt(dt) Z)``, one step per
    fetch. ``Z`` of step k of a market comes from ``Random(f"{seed}:{symbol}:{k}")``, so the
    path depends only on the seed, the market and the step number (not on which process
    polls). ``params(symbol)`` gives a market's start price, drift and volatility."""

    client: redis.Redis
    seed: int
    step_s: float
    params: Callable[[str], SimParams]
    name: str = "sim"

    def path(self, symbol: str, steps: int) -> list[Decimal]:
        """The first ``steps`` prices of ``symbol``'s path (for tests and inspection)."""
        price = self.params(symbol).start
        prices = []
        for k in range(1, steps + 1):
            price = self._step(symbol, k, price)
            prices.append(price)
        return prices

    def _step(self, symbol: str, k: int, price: Decimal) -> Decimal:
        """The next price, in Decimal like every price here (only the random draw is a float,
        and it enters as its shortest exact decimal repr)."""
        p = self.params(symbol)
        dt = Decimal(str(self.step_s)) / SECONDS_PER_YEAR
        draw = random.Random(f"{self.seed}:{symbol}:{k}").gauss(0.0, 1.0)  # noqa: S311 - a simulation
        z = Decimal(repr(draw))
        growth = (
            (p.drift - p.volatility * p.volatility / 2) * dt + p.volatility * dt.sqrt() * z
        ).exp()
        return _significant(price * growth)

    def fetch(self, markets: Sequence[FeedMarket]) -> dict[str, Quote]:
        if not markets:
            return {}
        symbols = [m.symbol for m in markets]
        state: list[Any] = self.client.hmget(SIM_STATE_KEY, symbols)  # type: ignore[assignment]
        now_ms = int(time.time() * 1000)
        quotes: dict[str, Quote] = {}
        updates: dict[str, str] = {}
        for symbol, raw in zip(symbols, state, strict=True):
            if raw:
                step_text, price_text = (raw.decode() if isinstance(raw, bytes) else raw).split()
                step, price = int(step_text), Decimal(price_text)
            else:
                step, price = 0, self.params(symbol).start
            step += 1
            price = self._step(symbol, step, price)
            updates[symbol] = f"{step} {price}"
            quotes[symbol] = Quote(price=price, source_ts_ms=now_ms)
        self.client.hset(SIM_STATE_KEY, mapping=updates)
        return quotes


def _significant(value: Decimal) -> Decimal:
    # 12 significant digits: far finer than any tick, and a bounded length across many steps.
    return Decimal(f"{value:.12g}")


# --- HTTP adapters -------------------------------------------------------------------------------


@dataclass
class HttpTickerSource:
    """Common HTTP handling: one shared ``httpx.Client`` (connection reuse), a short timeout
    (the poll runs every 0.25 s), ``retries`` more attempts with exponential backoff, and JSON
    numbers parsed as ``Decimal`` (never float)."""

    base_url: str
    timeout_s: float = 1.0
    retries: int = 2
    backoff_s: float = 0.05
    name: str = ""
    _client: httpx.Client | None = field(default=None, repr=False)

    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                base_url=self.base_url.rstrip("/"),
                timeout=httpx.Timeout(self.timeout_s),
                headers={"Accept": "application/json"},
            )
        return self._client

    def get_json(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        last_error: Exception | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
            try:
                response = self._http().get(path, params=params)
                if response.status_code >= 500 or response.status_code == 429:
                    last_error = SourceUnavailable(f"{self.name}: HTTP {response.status_code}")
                    continue
                response.raise_for_status()
                return json.loads(response.content, parse_float=Decimal)
            except (httpx.HTTPError, ValueError) as exc:
                last_error = exc
        raise SourceUnavailable(
            f"{self.name}: {path} failed after {self.retries + 1} attempts: {last_error}"
        ) from last_error

    def fetch(self, markets: Sequence[FeedMarket]) -> dict[str, Quote]:
        raise NotImplementedError  # each exchange's adapter reads its own payload

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _price(value: Any) -> Decimal | None:
    try:
        price = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return price if price.is_finite() and price > 0 else None


@dataclass
class UpbitSource(HttpTickerSource):
    name: str = "upbit"

    @staticmethod
    def feed_symbol(market: FeedMarket) -> str:
        return market.feed_symbol or f"{market.quote}-{market.base}"

    def fetch(self, markets: Sequence[FeedMarket]) -> dict[str, Quote]:
        if not markets:
            return {}
        by_feed = {self.feed_symbol(m): m.symbol for m in markets}
        rows = self.get_json("/v1/ticker", params={"markets": ",".join(sorted(by_feed))})
        if not isinstance(rows, list):
            raise SourceUnavailable(f"upbit: unexpected payload {str(rows)[:100]}")
        quotes = {}
        for row in rows:
            symbol = by_feed.get(row.get("market"))
            price = _price(row.get("trade_price"))
            if symbol is None or price is None:
                continue
            ts = row.get("trade_timestamp") or row.get("timestamp")
            quotes[symbol] = Quote(price=price, source_ts_ms=int(ts) if ts else None)
        return quotes


@dataclass
class BithumbSource(HttpTickerSource):
    name: str = "bithumb"

    @staticmethod
    def feed_symbol(market: FeedMarket) -> str:
        return market.feed_symbol or market.base

    def fetch(self, markets: Sequence[FeedMarket]) -> dict[str, Quote]:
        by_quote: dict[str, dict[str, str]] = {}
        for m in markets:
            by_quote.setdefault(m.quote, {})[self.feed_symbol(m)] = m.symbol
        quotes = {}
        for quote, by_feed in sorted(by_quote.items()):
            payload = self.get_json(f"/public/ticker/ALL_{quote}")
            if not isinstance(payload, dict) or payload.get("status") != "0000":
                raise SourceUnavailable(f"bithumb: status {str(payload)[:100]}")
            data = payload.get("data") or {}
            date = data.get("date")
            ts = int(date) if date else None
            for feed_symbol, symbol in by_feed.items():
                row = data.get(feed_symbol)
                price = _price(row.get("closing_price")) if isinstance(row, dict) else None
                if price is not None:
                    quotes[symbol] = Quote(price=price, source_ts_ms=ts)
        return quotes


@dataclass
class BinanceSource(HttpTickerSource):
    name: str = "binance"

    @staticmethod
    def feed_symbol(market: FeedMarket) -> str:
        return market.feed_symbol or f"{market.base}{market.quote}"

    def fetch(self, markets: Sequence[FeedMarket]) -> dict[str, Quote]:
        if not markets:
            return {}
        by_feed = {self.feed_symbol(m): m.symbol for m in markets}
        rows = self.get_json("/api/v3/ticker/price")
        if not isinstance(rows, list):
            raise SourceUnavailable(f"binance: unexpected payload {str(rows)[:100]}")
        quotes = {}
        for row in rows:
            symbol = by_feed.get(row.get("symbol"))
            price = _price(row.get("price"))
            if symbol is not None and price is not None:
                quotes[symbol] = Quote(price=price, source_ts_ms=None)
        return quotes


HTTP_SOURCES: dict[str, type[HttpTickerSource]] = {
    "upbit": UpbitSource,
    "bithumb": BithumbSource,
    "binance": BinanceSource,
}
