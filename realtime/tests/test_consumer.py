"""The /ws/ consumer through Channels' communicator on the real ASGI application and the real
Redis channel layer: protocol errors, auth rules, private data isolation, market channels."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest
from channels.db import database_sync_to_async
from django.test import Client as HttpClient
from rest_framework_simplejwt.tokens import AccessToken

from orders.services import order_place
from realtime import protocol
from realtime.consumers import OUTBOX_LIMIT, RealtimeConsumer
from realtime.tests.conftest import Client, access_token, run

pytestmark = pytest.mark.django_db(transaction=True)


def place(user, side, quantity, price):
    return order_place(
        user=user,
        symbol="LPJ-KRW",
        side=side,
        type="limit",
        quantity=Decimal(quantity),
        price=Decimal(price),
    )


def test_ping_gets_pong_and_bad_messages_get_errors_without_closing(lpj_krw) -> None:
    async def scenario() -> None:
        # given a connected client
        client = Client()
        await client.connect()
        # when it sends garbage, an unknown op and an unknown market
        await client.send("{not json")
        bad_json = await client.recv()
        await client.send({"op": "dance"})
        unknown_op = await client.recv()
        await client.send(
            {
                "op": "subscribe",
                "channels": ["ticker:NOPE-KRW", "weather:LPJ-KRW", "candles:LPJ-KRW:7m"],
            }
        )
        unknown = [await client.recv() for _ in range(3)]
        # then each gets its error and the connection still answers pings
        assert bad_json == {
            "op": "error",
            "code": "bad_json",
            "message": "The message is not valid JSON.",
        }
        assert unknown_op["code"] == "unknown_op"
        assert [m["code"] for m in unknown] == [
            "unknown_market",
            "unknown_channel",
            "unknown_interval",
        ]
        await client.send({"op": "ping"})
        assert await client.recv() == {"op": "pong"}
        await client.close()

    run(scenario)


def test_private_channels_need_auth_and_bad_tokens_are_refused(lpj_krw, make_user) -> None:
    # given a user, an expired token and a token revoked by a password change
    user = make_user()
    expired = AccessToken.for_user(user)
    expired.set_exp(lifetime=-timedelta(seconds=5))
    revoked = access_token(user)
    user.set_password("another-long-password")
    user.save()

    async def scenario() -> None:
        client = Client()
        await client.connect()
        # when it subscribes to a private channel without auth
        await client.send({"op": "subscribe", "channels": ["fills"]})
        # then it is refused
        assert (await client.recv())["code"] == "auth_required"
        # when it authenticates with bad tokens
        codes = []
        for token in (str(expired), revoked, "not.a.jwt"):
            await client.send({"op": "auth", "token": token})
            codes.append((await client.recv())["code"])
        # then each is refused and private channels stay closed
        assert codes == ["invalid_token"] * 3
        await client.send({"op": "subscribe", "channels": ["orders"]})
        assert (await client.recv())["code"] == "auth_required"
        await client.close()

    run(scenario)


def test_private_channels_close_when_the_access_token_expires(lpj_krw, make_user) -> None:
    # given a token that expires in a second (and a fresh one for later)
    user = make_user()
    short = AccessToken.for_user(user)
    short.set_exp(lifetime=timedelta(seconds=1))
    fresh = access_token(user)

    async def scenario() -> None:
        client = Client()
        await client.connect()
        await client.send({"op": "auth", "token": str(short)})
        await client.recv_until(lambda m: m.get("op") == "authenticated")
        await client.send({"op": "subscribe", "channels": ["orders"]})
        await client.recv_until(lambda m: m.get("op") == "subscribed")
        # when it expires
        expired = await client.recv_until(lambda m: m.get("op") == "error")
        # then the client is told, and private channels need auth again
        assert expired["code"] == "token_expired"
        await client.send({"op": "subscribe", "channels": ["fills"]})
        assert (await client.recv())["code"] == "auth_required"
        await client.send({"op": "auth", "token": fresh})
        await client.recv_until(lambda m: m.get("op") == "authenticated")
        await client.close()

    run(scenario)


def test_private_data_goes_only_to_its_owner(lpj_krw, make_user, settle) -> None:
    # given a seller authenticated by JWT, a buyer by session cookie, and a third user
    seller = make_user(LPJ="50")
    buyer = make_user(KRW="100000")
    other = make_user()
    http = HttpClient()
    http.force_login(buyer)
    cookie = f"sessionid={http.cookies['sessionid'].value}".encode()
    seller_token, other_token = access_token(seller), access_token(other)

    async def scenario() -> None:
        seller_ws, buyer_ws, other_ws = Client(), Client([(b"cookie", cookie)]), Client()
        for ws in (seller_ws, buyer_ws, other_ws):
            await ws.connect()
        for ws, token in ((seller_ws, seller_token), (other_ws, other_token)):
            await ws.send({"op": "auth", "token": token})
            assert (await ws.recv())["op"] == "authenticated"
        for ws in (seller_ws, buyer_ws, other_ws):
            await ws.send(
                {"op": "subscribe", "channels": ["fills", "orders", "balances", "notifications"]}
            )
            assert (await ws.recv())["op"] == "subscribed"
        # when the two cross and settlement commits
        await database_sync_to_async(place)(seller, "sell", "10", "1000")
        await database_sync_to_async(place)(buyer, "buy", "10", "1000")
        await database_sync_to_async(settle)(lpj_krw)
        # then each party sees its own fill, balances and a "filled" notification
        for ws, side in ((seller_ws, "sell"), (buyer_ws, "buy")):
            fill = await ws.recv_until(lambda m: m.get("channel") == "fills")
            assert [(f["side"], Decimal(f["quantity"])) for f in fill["data"]] == [(side, 10)]
            balances = await ws.recv_until(lambda m: m.get("channel") == "balances")
            assert {b["asset"] for b in balances["data"]} == {"LPJ", "KRW"}
            note = await ws.recv_until(lambda m: m.get("channel") == "notifications")
            assert note["data"]["kind"] == "order_filled"
            assert isinstance(note["ts"], int)
        # and the third user gets nothing
        assert await other_ws.nothing(0.5)
        for ws in (seller_ws, buyer_ws, other_ws):
            await ws.close()

    hops = {hop: hop_count(hop) for hop in ("settled_to_pushed", "pushed_to_delivered")}
    run(scenario)
    # and the batch's push and each private message delivered timed their hops
    assert hop_count("settled_to_pushed") == hops["settled_to_pushed"] + 1
    assert hop_count("pushed_to_delivered") >= hops["pushed_to_delivered"] + 6


def hop_count(hop: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("tradehive_fill_hop_seconds_count", {"hop": hop}) or 0.0


def test_too_many_subscriptions_are_refused(lpj_krw) -> None:
    async def scenario() -> None:
        # given a client holding 4 of the channels of LPJ-KRW
        client = Client()
        await client.connect()
        await client.send({"op": "subscribe", "channels": ["trades:LPJ-KRW"]})
        assert (await client.recv())["op"] == "subscribed"
        # when it asks for 50 more in one message
        names = [f"candles:LPJ-KRW:{i}" for i in ("1m", "5m", "15m", "1h", "4h", "1d")]
        await client.send({"op": "subscribe", "channels": names * 9})
        # then duplicates collapse and it is subscribed
        reply = await client.recv_until(lambda m: m.get("op") == "subscribed")
        assert len(reply["channels"]) == 6
        # when it goes past the limit with distinct names in one message
        await client.send({"op": "subscribe", "channels": [f"ticker:X{i}-KRW" for i in range(51)]})
        # then it is refused and stays connected
        error = await client.recv_until(lambda m: m.get("op") == "error")
        assert error["code"] == "too_many_subscriptions"
        await client.send({"op": "ping"})
        assert (await client.recv_until(lambda m: m.get("op") == "pong")) == {"op": "pong"}
        await client.close()

    run(scenario)


def test_a_subscription_past_the_connection_limit_is_refused(lpj_krw, monkeypatch) -> None:
    # given a limit of 2 subscriptions a connection
    monkeypatch.setattr(protocol, "MAX_SUBSCRIPTIONS", 2)

    async def scenario() -> None:
        client = Client()
        await client.connect()
        await client.send({"op": "subscribe", "channels": ["trades:LPJ-KRW", "candles:LPJ-KRW:1m"]})
        await client.recv_until(lambda m: m.get("op") == "subscribed")
        # when a third one is asked for
        await client.send({"op": "subscribe", "channels": ["candles:LPJ-KRW:5m"]})
        # then it is refused
        error = await client.recv_until(lambda m: m.get("op") == "error")
        assert error["code"] == "too_many_subscriptions"
        await client.close()

    run(scenario)


def test_a_message_flood_closes_the_connection_with_4008(lpj_krw) -> None:
    async def scenario() -> None:
        # given a connected client
        client = Client()
        await client.connect()
        # when it sends far more than 20 messages a second
        for _ in range(int(protocol.RATE_BURST) + 5):
            await client.send({"op": "ping"})
        # then the server closes it with 4008
        while True:
            output = await client.ws.receive_output(timeout=3)
            if output["type"] == "websocket.close":
                break
        assert output["code"] == protocol.CloseCode.RATE_LIMITED

    run(scenario)


def test_trades_ticker_candles_and_depth_arrive_after_settlement(
    lpj_krw, make_user, settle
) -> None:
    # given a resting ask and a subscriber to every public channel of the market
    seller = make_user(LPJ="50")
    buyer = make_user(KRW="100000")
    place(seller, "sell", "10", "1000")
    settle(lpj_krw)

    async def scenario() -> None:
        client = Client()
        await client.connect()
        await client.send(
            {
                "op": "subscribe",
                "channels": [
                    "ticker:LPJ-KRW",
                    "depth:LPJ-KRW",
                    "trades:LPJ-KRW",
                    "candles:LPJ-KRW:1m",
                ],
            }
        )
        assert (await client.recv())["op"] == "subscribed"
        ticker = await client.recv_until(lambda m: m.get("channel") == "ticker:LPJ-KRW")
        snapshot = await client.recv_until(lambda m: m.get("channel") == "depth:LPJ-KRW")
        assert ticker["data"]["symbol"] == "LPJ-KRW"
        assert snapshot["data"]["type"] == "snapshot"
        assert snapshot["data"]["asks"] == [["1000", "10"]]
        # when a buyer takes 4 of it
        await database_sync_to_async(place)(buyer, "buy", "4", "1000")
        await database_sync_to_async(settle)(lpj_krw)
        # then the trade, the candle, the new ticker and a depth update continuing the snapshot
        trade = await client.recv_until(lambda m: m.get("channel") == "trades:LPJ-KRW")
        assert [(t["price"], t["quantity"], t["taker_side"]) for t in trade["data"]] == [
            ("1000", "4", "buy")
        ]
        candle = await client.recv_until(lambda m: m.get("channel") == "candles:LPJ-KRW:1m")
        assert (candle["data"][-1]["c"], candle["data"][-1]["v"]) == ("1000", "4")
        update = await client.recv_until(lambda m: m.get("channel") == "depth:LPJ-KRW")
        assert update["data"]["type"] == "update"
        assert update["data"]["prev_sequence"] == snapshot["data"]["sequence"]
        assert update["data"]["asks"] == [["1000", "6"]]
        ticker = await client.recv_until(lambda m: m.get("channel") == "ticker:LPJ-KRW")
        assert ticker["data"]["last"] == "1000"
        # when it unsubscribes from trades and another trade happens
        await client.send({"op": "unsubscribe", "channels": ["trades:lpj-krw"]})
        assert (await client.recv_until(lambda m: m.get("op") == "unsubscribed"))["channels"] == [
            "trades:LPJ-KRW"
        ]
        await database_sync_to_async(place)(buyer, "buy", "1", "1000")
        await database_sync_to_async(settle)(lpj_krw)
        # then depth still moves but no trade arrives
        seen: list[str | None] = []

        def depth_after_noting(message: dict) -> bool:
            seen.append(message.get("channel"))
            return message.get("channel") == "depth:LPJ-KRW"

        update2 = await client.recv_until(depth_after_noting)
        assert update2["data"]["prev_sequence"] == update["data"]["sequence"]
        await asyncio.sleep(0.3)
        while not await client.nothing(0.1):
            seen.append((await client.recv()).get("channel"))
        assert "trades:LPJ-KRW" not in seen
        await client.close()

    run(scenario)


def test_a_client_that_does_not_read_is_cut_off_alone() -> None:
    async def scenario() -> None:
        # given a consumer whose writer is not draining its outbox
        consumer = RealtimeConsumer()
        consumer.outbox = asyncio.Queue(maxsize=OUTBOX_LIMIT)
        consumer.closing = False
        # when more frames arrive than its outbox holds
        for i in range(OUTBOX_LIMIT + 1):
            consumer.enqueue(f'{{"n":{i}}}')
        # then its queue is dropped for a close marker and later frames are ignored
        consumer.enqueue('{"late":true}')
        assert consumer.closing
        assert consumer.outbox.qsize() == 1
        assert consumer.outbox.get_nowait() is None

    run(scenario)


def test_connections_and_frames_are_counted(lpj_krw) -> None:
    from prometheus_client import REGISTRY

    def sample(name: str) -> float:
        return REGISTRY.get_sample_value(name) or 0.0

    async def scenario() -> None:
        # given the counts before
        open_before = sample("tradehive_ws_connections")
        sent_before = sample("tradehive_ws_frames_sent_total")
        # when a client connects and is answered once
        client = Client()
        await client.connect()
        await client.send({"op": "ping"})
        assert await client.recv() == {"op": "pong"}
        # then it is one open connection more, and a frame was sent
        assert sample("tradehive_ws_connections") == open_before + 1
        assert sample("tradehive_ws_frames_sent_total") >= sent_before + 1
        # when it leaves, then it is no longer counted
        await client.close()
        await asyncio.sleep(0.05)
        assert sample("tradehive_ws_connections") == open_before

    run(scenario)
