"""The Orders page: every market's orders and fills of the signed-in user, filtered, paged and
exported as CSV; nasty filter values are form errors, never a 5xx."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from markets.models import TradingPair
from markets.services import pair_create
from orders.models import Order
from orders.services import order_place
from settlement.services import settlement_group_ensure
from tradehive.redis_client import get_redis
from wallets.models import Asset

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ledger_clean")]

D = Decimal


@pytest.fixture
def btc_krw(lpj_krw) -> TradingPair:
    pair = pair_create(
        base=Asset.objects.get(symbol="BTC"),
        quote=lpj_krw.quote,
        tick_size=D(10000),
        lot_size=D("0.0001"),
        min_notional=D(5000),
        actor=None,
    )
    settlement_group_ensure(get_redis(), pair.symbol)
    return pair


def place(user, symbol, side, quantity, price, **kwargs) -> Order:
    return order_place(
        user=user,
        symbol=symbol,
        side=side,
        type="limit",
        quantity=D(quantity),
        price=D(price),
        **kwargs,
    )


@pytest.fixture
def trader(lpj_krw, btc_krw, make_user, settle):
    """Orders in two markets: a filled LPJ buy, a rejected post-only, resting bids in both."""
    maker = make_user(LPJ="10")
    place(maker, "LPJ-KRW", "sell", "5", "1000")
    settle(lpj_krw)
    user = make_user(KRW="10000000")
    place(user, "LPJ-KRW", "buy", "5", "1000")  # fills
    settle(lpj_krw)
    place(maker, "LPJ-KRW", "sell", "1", "1100")
    settle(lpj_krw)
    place(user, "LPJ-KRW", "buy", "1", "1100", post_only=True)  # rejected: would take
    place(user, "LPJ-KRW", "buy", "2", "900")  # rests
    place(user, "BTC-KRW", "buy", "0.01", "90000000")  # rests
    settle(lpj_krw)
    settle(btc_krw)
    return user


@pytest.fixture
def browser(trader) -> Client:
    client = Client()
    client.force_login(trader)
    return client


def rows(page: str) -> int:
    return page.count("<tr>") - 1  # the header row


def test_the_page_shows_every_markets_open_orders_by_default(browser) -> None:
    # when the page is opened
    answer = browser.get("/orders/")
    # then both markets' resting orders show, amounts as a person reads them
    page = answer.content.decode()
    assert answer.status_code == 200
    assert rows(page) == 2
    assert "90,000,000" in page
    assert "0.0100" in page
    assert 'aria-label="Cancel: Buy 2 LPJ at 900 KRW"' in page


def test_history_filters_by_market_side_and_end(browser) -> None:
    # when the history is filtered to rejected LPJ-KRW buys
    page = browser.get(
        "/orders/", {"tab": "history", "market": "LPJ-KRW", "side": "buy", "status": "rejected"}
    ).content.decode()
    # then only the post-only one shows, with its reason in words
    assert rows(page) == 1
    assert "rejected (post-only would take)" in page
    # and filtered to filled ones, the buy that took the ask
    page = browser.get("/orders/", {"tab": "history", "status": "filled"}).content.decode()
    assert rows(page) == 1
    assert "1,000" in page


def test_fills_and_dates(browser) -> None:
    # when the fills tab is opened, then for a day with none
    today = timezone.now().date()
    page = browser.get("/orders/", {"tab": "fills"}).content.decode()
    later = browser.get(
        "/orders/", {"tab": "fills", "date_from": str(today + timedelta(days=1))}
    ).content.decode()
    # then the one fill shows, and a later day shows none
    assert rows(page) == 1
    assert "taker" in page
    assert "No fills match these filters." in later


def test_the_csv_has_what_the_page_shows_under_the_same_filters(browser) -> None:
    # when the open orders of BTC-KRW are exported
    answer = browser.get("/orders/export.csv", {"tab": "open", "market": "BTC-KRW"})
    # then the file is CSV with one row, decimals as the API writes them
    assert answer["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in answer["Content-Disposition"]
    table = list(csv.reader(io.StringIO(b"".join(answer.streaming_content).decode())))
    assert table[0][:4] == ["created_at", "market", "side", "type"]
    assert len(table) == 2
    assert table[1][1:4] == ["BTC-KRW", "buy", "limit"]
    assert table[1][5] == "90000000"
    # and the fills export has the fill
    fills = browser.get("/orders/export.csv", {"tab": "fills"})
    table = list(csv.reader(io.StringIO(b"".join(fills.streaming_content).decode())))
    assert [row[8] for row in table[1:]] == ["taker"]


@pytest.mark.parametrize(
    "query",
    [
        {"tab": "nope"},
        {"market": "NOPE-KRW"},
        {"side": "both"},
        {"status": "open"},
        {"date_from": "2026-13-40"},
        {"date_from": "2026-02-02", "date_to": "2026-02-01"},
        {"page": "-1"},
        {"page": "9999"},
        {"page": "x"},
    ],
)
def test_bad_filters_are_form_errors_never_5xx(browser, query) -> None:
    # when the page and the export get a bad filter
    page = browser.get("/orders/", query)
    export = browser.get("/orders/export.csv", query)
    # then the page says so (or shows a page it has), and nothing breaks
    assert page.status_code in (200, 400)
    assert export.status_code in (200, 400)
    if "page" not in query:
        assert page.status_code == 400
        assert export.status_code == 400


def test_cancel_from_the_page_and_cancel_all_in_a_market(browser, trader, lpj_krw, settle) -> None:
    # given the trader's resting LPJ bid
    bid = Order.objects.get(user=trader, pair=lpj_krw, status="open")
    # when it is cancelled from the page (settlement applies the engine's answer meanwhile)
    answer = browser.post(f"/orders/{bid.pk}/cancel", {"next": "/orders/?tab=open"})
    settle(lpj_krw)
    # then the page comes back to where it was with a message in words
    assert answer.status_code == 302
    assert answer["Location"] == "/orders/?tab=open"
    # when every open order in BTC-KRW is cancelled, and a foreign "next" is given
    answer = browser.post(
        "/orders/cancel-all", {"market": "BTC-KRW", "next": "https://evil.example/"}
    )
    # then it goes back to the Orders page, not elsewhere
    assert answer["Location"] == "/orders/"


def test_the_page_needs_a_login(client, db) -> None:
    # when an anonymous visitor asks; then they are sent to log in
    assert client.get("/orders/").status_code == 302
    assert client.get("/orders/export.csv").status_code == 302
