"""End to end: a real uvicorn process serving tradehive.asgi, a real ``manage.py settle``
process, REST orders with JWTs and real websocket clients (the ``websockets`` library)."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import websockets
from websockets.typing import Origin

from realtime.tests.conftest import access_token
from tradehive.testing.processes import live_exchange

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def server(lpj_krw) -> Iterator[str]:
    """uvicorn + settle on the test database; yields the base URL (host:port)."""
    with live_exchange() as base:
        yield base


def order(base: str, token: str, side: str, quantity: str, price: str) -> dict[str, Any]:
    answer = httpx.post(
        f"http://{base}/api/v1/orders",
        json={
            "symbol": "LPJ-KRW",
            "side": side,
            "type": "limit",
            "quantity": quantity,
            "price": price,
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


async def connect(base: str, token: str | None = None) -> Any:
    ws = await websockets.connect(f"ws://{base}/ws/", origin=Origin(f"http://{base}"))
    if token:
        await ws.send(json.dumps({"op": "auth", "token": token}))
        assert json.loads(await ws.recv())["op"] == "authenticated"
    return ws


async def until(ws: Any, channel: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
        if message.get("channel") == channel:
            return message


def test_crossing_orders_reach_trades_and_both_fills_within_a_second(server, make_user) -> None:
    # given a seller resting 10 @ 1000 and two websocket clients
    seller, buyer = make_user(LPJ="50"), make_user(KRW="100000")
    seller_token, buyer_token = access_token(seller), access_token(buyer)

    async def scenario() -> float:
        seller_ws = await connect(server, seller_token)
        buyer_ws = await connect(server, buyer_token)
        await seller_ws.send(json.dumps({"op": "subscribe", "channels": ["fills"]}))
        await buyer_ws.send(
            json.dumps({"op": "subscribe", "channels": ["trades:LPJ-KRW", "fills"]})
        )
        for ws in (seller_ws, buyer_ws):
            assert json.loads(await ws.recv())["op"] == "subscribed"
        await asyncio.to_thread(order, server, seller_token, "sell", "10", "1000")
        await asyncio.sleep(0.5)  # the ask rests (its "orders" push is not subscribed)
        # when the buyer crosses over REST
        started = time.monotonic()
        await asyncio.to_thread(order, server, buyer_token, "buy", "10", "1000")
        # then the trade and both fills arrive within a second
        trade = await until(buyer_ws, "trades:LPJ-KRW", 1.0 - (time.monotonic() - started))
        buyer_fill = await until(buyer_ws, "fills", 1.0 - (time.monotonic() - started))
        seller_fill = await until(seller_ws, "fills", 1.0 - (time.monotonic() - started))
        elapsed = time.monotonic() - started
        assert [(t["price"], t["quantity"]) for t in trade["data"]] == [("1000", "10")]
        assert [f["side"] for f in buyer_fill["data"]] == ["buy"]
        assert [f["side"] for f in seller_fill["data"]] == ["sell"]
        await seller_ws.close()
        await buyer_ws.close()
        return elapsed

    assert asyncio.run(scenario()) < 1.0


def apply_depth(
    book: dict[str, dict[Decimal, str]], message: dict[str, Any], sequence: int | None
) -> int:
    """What a client does with ``depth:SYM``: a snapshot replaces the book; an update must
    continue the sequence and sets (or, at zero, removes) levels."""
    data = message["data"]
    if data["type"] == "snapshot":
        for side in ("bids", "asks"):
            book[side] = {Decimal(p): q for p, q in data[side]}
        return data["sequence"]
    assert data["prev_sequence"] == sequence, "gap in the depth sequence"
    for side in ("bids", "asks"):
        for price, quantity in data[side]:
            if Decimal(quantity) == 0:
                book[side].pop(Decimal(price), None)
            else:
                book[side][Decimal(price)] = quantity
    return data["sequence"]


def test_a_depth_client_rebuilds_the_rest_book_after_a_burst(server, make_user) -> None:
    # given a depth subscriber and two traders
    seller, buyer = make_user(LPJ="5000"), make_user(KRW="10000000")
    tokens = {"sell": access_token(seller), "buy": access_token(buyer)}
    rng = random.Random(8)  # noqa: S311 - a reproducible load shape, not a secret

    async def scenario() -> tuple[dict[str, Any], dict[str, Any], int, int]:
        ws = await connect(server)
        await ws.send(json.dumps({"op": "subscribe", "channels": ["depth:LPJ-KRW"]}))
        assert json.loads(await ws.recv())["op"] == "subscribed"
        book: dict[str, dict[Decimal, str]] = {"bids": {}, "asks": {}}
        sequence = apply_depth(book, await until(ws, "depth:LPJ-KRW", 3), None)
        updates = 0
        # when a burst of 80 orders crosses and rests around 1000
        burst = [
            (
                "sell" if rng.random() < 0.5 else "buy",
                str(rng.randint(2, 9)),
                str(rng.randint(990, 1010)),
            )
            for _ in range(80)
        ]

        async def place_all() -> None:
            for side, quantity, price in burst:
                await asyncio.to_thread(order, server, tokens[side], side, quantity, price)

        placing = asyncio.create_task(place_all())
        rest: dict[str, Any] = {}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                message = await until(ws, "depth:LPJ-KRW", 0.5)
                sequence = apply_depth(book, message, sequence)
                updates += 1
            except TimeoutError:
                if not placing.done():
                    continue
                # then once quiet, the book and sequence equal REST's
                rest = (
                    await asyncio.to_thread(
                        httpx.get, f"http://{server}/api/v1/markets/LPJ-KRW/depth?limit=50"
                    )
                ).json()
                if rest["sequence"] == sequence:
                    break
        await ws.close()
        await placing
        mine = {
            side: [
                [format(p, "f"), q] for p, q in sorted(book[side].items(), reverse=side == "bids")
            ]
            for side in ("bids", "asks")
        }
        return mine, rest, sequence, updates

    mine, rest, sequence, updates = asyncio.run(scenario())
    assert rest["sequence"] == sequence
    assert (mine["bids"], mine["asks"]) == (rest["bids"], rest["asks"])
    assert rest["bids"]
    assert rest["asks"]
    assert 1 <= updates <= 80
