"""The market list (home page) and a market's page."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from markets.services import TradeInput, pair_set_status, trades_record

pytestmark = pytest.mark.django_db


def test_home_lists_every_market_with_its_ticker(client, btc_krw, redis_client) -> None:
    # given a trade and a halted market
    trades_record(
        pair=btc_krw,
        trades=[
            TradeInput(
                sequence=1,
                created_at=timezone.now() - timedelta(minutes=3),
                price=D(51234),
                quantity=D("0.25"),
                taker_side="buy",
            )
        ],
    )
    pair_set_status(pair=btc_krw, status="halted", actor=None)
    # when
    response = client.get("/")
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert 'href="/markets/BTC-KRW/"' in html
    assert "51234" in html
    assert "Halted" in html
    assert "0.2500" in html


def test_market_page_shows_rules_ticker_and_trades(client, btc_krw, redis_client) -> None:
    trades_record(
        pair=btc_krw,
        trades=[
            TradeInput(
                sequence=7,
                created_at=timezone.now(),
                price=D(50500),
                quantity=D("0.0012"),
                taker_side="sell",
            )
        ],
    )
    response = client.get("/markets/BTC-KRW/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Recent trades" in html
    assert "50500" in html
    assert "0.0012" in html
    assert "0.05% / 0.15%" in html


def test_market_page_canonical_symbol_and_404(client, btc_krw) -> None:
    assert client.get("/markets/btc-krw/")["Location"] == "/markets/BTC-KRW/"
    assert client.get("/markets/DOGE-KRW/").status_code == 404


def test_trade_page_embeds_the_market_with_its_precision(client, btc_krw) -> None:
    # when
    response = client.get("/markets/BTC-KRW/")
    # then the scripts get the market as the API shows it, plus its decimals
    market = response.context["market"]
    assert market["symbol"] == "BTC-KRW"
    assert (market["base_decimals"], market["quote_decimals"]) == (8, 0)
    assert (market["price_places"], market["quantity_places"]) == (0, 4)
    assert market["feed_stale"] is False
    assert 'id="market-data"' in response.content.decode()


def test_anonymous_visitors_get_a_login_prompt_instead_of_the_form(client, btc_krw) -> None:
    # when
    html = client.get("/markets/BTC-KRW/").content.decode()
    # then
    assert "data-order-form" not in html
    assert 'href="/accounts/login/?next=/markets/BTC-KRW/"' in html


def test_logged_in_users_get_the_order_form_and_their_orders(client, btc_krw) -> None:
    from accounts.tests.factories import UserFactory

    # given
    client.force_login(UserFactory())
    # when
    html = client.get("/markets/BTC-KRW/").content.decode()
    # then
    assert "data-order-form" in html
    assert "Open orders" in html
    assert "data-notifications" in html


def test_a_halted_market_page_says_why_no_orders_are_taken(client, btc_krw) -> None:
    # given
    pair_set_status(pair=btc_krw, status="cancel_only", actor=None)
    # when
    html = client.get("/markets/BTC-KRW/").content.decode()
    # then
    assert "Cancel only" in html
    assert "accepts cancels only" in html
