"""The locust scenario of bench/load.py: browsers that hold a websocket and read market data,
and traders that place and cancel orders through the API. Run by bench/load.py, which seeds
the users and starts the server; by hand:
``TH_LOAD_TOKENS=tokens.json locust -f bench/locustfile.py --headless -u 1000 -r 50 -H URL``.

Environment: ``TH_LOAD_TOKENS`` a JSON list of access JWTs (one per user, reused round-robin),
``TH_LOAD_TRADERS`` how many of the users trade (locust ``fixed_count``; the rest browse),
``TH_LOAD_WS_STATS`` where to write the websocket counters at the end (JSON)."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

import gevent
from locust import FastHttpUser, between, events, task
from websockets.sync.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SYMBOLS = ("LPJ-KRW", "BTC-USDT")
# symbol: (mid, tick, lot): makers rest 1-20 ticks off a fixed mid, takers cross it.
MARKETS = {
    "LPJ-KRW": (Decimal(10000), Decimal(1), Decimal(1)),
    "BTC-USDT": (Decimal("60000.00"), Decimal("0.01"), Decimal("0.0001")),
}
TOKENS: list[str] = json.loads(Path(os.environ["TH_LOAD_TOKENS"]).read_text())
_token_ids = itertools.count()
WS = {"connected": 0, "failed": 0, "frames": 0, "closed_early": 0}


def next_token() -> str:
    return TOKENS[next(_token_ids) % len(TOKENS)]


class Browser(FastHttpUser):
    """Reads markets and market data every 2-6 s while holding a websocket subscribed to one
    market's ticker, depth and trades (frames are read and counted, as a page would)."""

    weight = 1
    wait_time = between(2, 6)

    def on_start(self) -> None:
        self.symbol = random.choice(SYMBOLS)
        self.ws = None
        self.reader = None
        # TH_LOAD_WS_HOST: the websocket server when it is not the HTTP one (bench/load.py --http)
        ws_host = os.environ.get("TH_LOAD_WS_HOST") or self.host.replace("http://", "ws://")
        url = ws_host + "/ws/"
        started = time.perf_counter()
        try:
            ws = connect(url, origin=self.host, open_timeout=30, compression=None)  # type: ignore[arg-type]
            channels = [f"ticker:{self.symbol}", f"depth:{self.symbol}", f"trades:{self.symbol}"]
            ws.send(json.dumps({"op": "subscribe", "channels": channels}))
            while json.loads(ws.recv(timeout=30)).get("op") != "subscribed":
                pass
        except Exception as exc:  # every failure is a reported error
            WS["failed"] += 1
            self._ws_event(started, exc)
            return
        WS["connected"] += 1
        self._ws_event(started, None)
        self.ws = ws
        self.reader = gevent.spawn(self._read)

    def _ws_event(self, started: float, exc: Exception | None) -> None:
        events.request.fire(
            request_type="WS",
            name="/ws/ connect+subscribe",
            response_time=(time.perf_counter() - started) * 1000,
            response_length=0,
            exception=exc,
            context={},
        )

    def _read(self) -> None:
        with contextlib.suppress(Exception):  # the connection ended
            for _ in self.ws:  # type: ignore[union-attr]
                WS["frames"] += 1
        if self.environment.runner and self.environment.runner.state == "running":
            WS["closed_early"] += 1

    def on_stop(self) -> None:
        if self.ws is not None:
            self.ws.close()

    @task(2)
    def markets(self) -> None:
        self.client.get("/api/v1/markets", name="GET /markets")

    @task(2)
    def tickers(self) -> None:
        self.client.get("/api/v1/tickers", name="GET /tickers")

    @task(1)
    def market(self) -> None:
        self.client.get(f"/api/v1/markets/{self.symbol}", name="GET /markets/{s}")

    @task(4)
    def depth(self) -> None:
        self.client.get(f"/api/v1/markets/{self.symbol}/depth?limit=50", name="GET depth")

    @task(3)
    def trades(self) -> None:
        self.client.get(f"/api/v1/markets/{self.symbol}/trades?limit=50", name="GET trades")

    @task(2)
    def candles(self) -> None:
        self.client.get(
            f"/api/v1/markets/{self.symbol}/candles?interval=1m&limit=100", name="GET candles"
        )


class Trader(FastHttpUser):
    """Places GTC limits near the mid (makers), IOC limits and market orders through it
    (takers), and cancels its resting orders; thinks 0.5-1.5 s between actions."""

    fixed_count = int(os.environ.get("TH_LOAD_TRADERS", "300"))
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.headers = {"Authorization": f"Bearer {next_token()}"}
        self.resting: list[int] = []
        self.rng = random.Random()

    def _place(self, body: dict[str, str], name: str) -> None:
        with self.client.post(
            "/api/v1/orders", json=body, headers=self.headers, name=name, catch_response=True
        ) as response:
            if response.status_code != 201:
                response.failure(f"{response.status_code} {response.text[:120]}")
            elif name == "POST /orders limit":
                self.resting.append(response.json()["id"])

    @task(5)
    def limit(self) -> None:
        symbol = self.rng.choice(SYMBOLS)
        mid, tick, lot = MARKETS[symbol]
        side = self.rng.choice(("buy", "sell"))
        offset = self.rng.randint(1, 20) * tick
        lots = self.rng.randint(1, 5) * (1 if lot == 1 else 10)
        body = {
            "symbol": symbol,
            "side": side,
            "type": "limit",
            "price": f"{mid - offset if side == 'buy' else mid + offset}",
            "quantity": f"{lots * lot}",
        }
        self._place(body, "POST /orders limit")

    @task(2)
    def take(self) -> None:
        symbol = self.rng.choice(SYMBOLS)
        mid, tick, lot = MARKETS[symbol]
        side = self.rng.choice(("buy", "sell"))
        lots = self.rng.randint(2, 6) * (1 if lot == 1 else 10)
        if self.rng.random() < 0.5:
            price = mid + 40 * tick if side == "buy" else mid - 40 * tick
            body = {
                "symbol": symbol,
                "side": side,
                "type": "limit",
                "time_in_force": "IOC",
                "price": f"{price}",
                "quantity": f"{lots * lot}",
            }
            self._place(body, "POST /orders ioc")
        else:
            body = {"symbol": symbol, "side": side, "type": "market", "quantity": f"{lots * lot}"}
            # An empty opposite side answers 400 insufficient_liquidity: a fair answer, not an
            # error of the exchange; counted apart.
            with self.client.post(
                "/api/v1/orders",
                json=body,
                headers=self.headers,
                name="POST /orders market",
                catch_response=True,
            ) as response:
                if response.status_code == 201 or (
                    response.status_code == 400 and b"insufficient_liquidity" in response.content
                ):
                    response.success()
                else:
                    response.failure(f"{response.status_code} {response.text[:120]}")

    @task(3)
    def cancel(self) -> None:
        if not self.resting:
            self.limit()
            return
        order_id = self.resting.pop(self.rng.randrange(len(self.resting)))
        with self.client.delete(
            f"/api/v1/orders/{order_id}",
            headers=self.headers,
            name="DELETE /orders/{id}",
            catch_response=True,
        ) as response:
            # 409 order_not_open: a taker filled it first; a fair answer.
            if response.status_code == 200 or (
                response.status_code == 409 and b"order_not_open" in response.content
            ):
                response.success()
            else:
                response.failure(f"{response.status_code} {response.text[:120]}")

    @task(1)
    def my_orders(self) -> None:
        self.client.get("/api/v1/orders?status=open", headers=self.headers, name="GET /orders")


@events.quitting.add_listener
def _write_ws_stats(environment, **_kwargs) -> None:  # type: ignore[no-untyped-def]
    path = os.environ.get("TH_LOAD_WS_STATS")
    if path:
        Path(path).write_text(json.dumps(WS))
