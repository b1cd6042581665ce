"""The house's quote of a feed-priced market (``markets.selectors.house_quote_get``): the price
and sizes the house fills market orders at, in the REST depth's ``house`` and on the websocket.
Market XRP-KRW (sim-priced): tick 1 KRW, lot 1 XRP; the house holds 1,000,000 XRP and
1,000,000,000 KRW (feeds/tests/conftest.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import override_settings

from feeds.tests.conftest import HOUSE_KRW, HOUSE_XRP
from markets.models import TradingPair
from markets.selectors import house_quote_get
from markets.services import pair_create, pair_set_status
from orders.models import Order
from orders.services import order_place
from wallets.models import Asset

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ledger_clean")]

D = Decimal


@pytest.fixture
def lpj_krw(xrp_krw) -> TradingPair:
    """A book-priced market next to the feed market."""
    return pair_create(
        base=Asset.objects.get(symbol="LPJ"),
        quote=xrp_krw.quote,
        tick_size=D(1),
        lot_size=D(1),
        min_notional=D(1000),
        actor=None,
    )


def test_the_house_quotes_the_latest_observation_and_fills_market_orders_there(
    xrp_krw, make_user, settle, observe
) -> None:
    # given observations 101 then 97 (the latest)
    observe(xrp_krw, "101", "97")
    # when the house's quote is read
    quote = house_quote_get(pair=xrp_krw)
    # then it is the latest observation both ways, sized by what the house holds in whole lots
    # (1,000,000,000 KRW buys 10,309,278 XRP at 97)
    assert quote is not None
    assert (quote.price, quote.ask_quantity, quote.bid_quantity) == (
        D(97),
        HOUSE_XRP,
        D(10_309_278),
    )
    assert HOUSE_KRW / 97 < 10_309_279

    # and a market buy and a market sell fill at exactly that price against the house
    trader = make_user(KRW="10000", XRP="5")
    buy = order_place(user=trader, symbol="XRP-KRW", side="buy", type="market", quantity=D(10))
    sell = order_place(user=trader, symbol="XRP-KRW", side="sell", type="market", quantity=D(5))
    settle(xrp_krw)
    for order in (buy, sell):
        order.refresh_from_db()
        assert (order.status, order.filled_quote / order.filled_quantity) == ("filled", quote.price)

    # and the quote's sizes follow the house's balances
    after = house_quote_get(pair=xrp_krw)
    assert after is not None
    assert after.ask_quantity == HOUSE_XRP - 10 + 5


def test_no_house_quote_without_a_fresh_price_a_feed_or_an_open_market(
    xrp_krw, observe, lpj_krw
) -> None:
    # given a feed market never observed, then observed
    assert house_quote_get(pair=xrp_krw) is None
    observe(xrp_krw, "100")
    assert house_quote_get(pair=xrp_krw) is not None
    # when the observation is older than the stale limit: market orders are refused, no quote
    with override_settings(FEED_STALE_AFTER_S=0):
        assert house_quote_get(pair=xrp_krw) is None
    # when the market is halted: no quote
    pair_set_status(pair=xrp_krw, status=TradingPair.Status.HALTED, actor=None)
    assert house_quote_get(pair=TradingPair.objects.get(pk=xrp_krw.pk)) is None
    # and a book-priced market never has one
    assert house_quote_get(pair=lpj_krw) is None


def test_the_rest_depth_carries_the_house_quote(xrp_krw, observe, client, lpj_krw) -> None:
    # given an observation of 1234 and nobody resting orders
    observe(xrp_krw, "1234")
    # when the depth of the feed market and of a book market are read
    feed = client.get("/api/v1/markets/XRP-KRW/depth").json()
    book = client.get("/api/v1/markets/LPJ-KRW/depth").json()
    # then the feed market's has the house's quote in the market's places, the book market's none
    assert feed["house"]["price"] == "1234"
    assert feed["house"]["ask_quantity"] == "1000000"
    assert feed["house"]["bid_quantity"] == str(int(HOUSE_KRW / 1234))
    assert feed["house"]["observed_at"].endswith("Z")
    assert (feed["bids"], feed["asks"]) == ([], [])
    assert book["house"] is None
    assert not Order.objects.exists()


def test_the_websocket_snapshot_and_ticker_flush_carry_the_house_quote(
    xrp_krw, observe, redis_client
) -> None:
    # given an observation of 250, and a listener on the depth:XRP-KRW group of the real layer
    observe(xrp_krw, "250")
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from realtime.consumers import _initial_data
    from realtime.hub import ticker_flush
    from realtime.protocol import parse_channel

    layer = get_channel_layer()
    listener = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)("depth.XRP-KRW", listener)

    # when a subscriber joins depth:XRP-KRW, and when the hub flushes the market's ticker
    snapshot = _initial_data(parse_channel("depth:XRP-KRW", market_exists=lambda _: True))
    async_to_sync(ticker_flush)(layer, "XRP-KRW")
    pushed = async_to_sync(layer.receive)(listener)

    # then the snapshot has the quote, and the flush pushes it on the depth channel (type house)
    assert snapshot["type"] == "snapshot"
    assert snapshot["house"]["price"] == "250"
    assert pushed["channel"] == "depth:XRP-KRW"
    assert pushed["data"]["type"] == "house"
    assert pushed["data"]["house"]["price"] == "250"
    assert pushed["data"]["house"]["ask_quantity"] == "1000000"
    assert pushed["data"]["house"]["bid_quantity"] == str(int(HOUSE_KRW / 250))
