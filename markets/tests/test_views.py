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
    trades_record(pair=btc_krw, trades=[TradeInput(
        sequence=1, created_at=timezone.now() - timedelta(minutes=3), price=D(51234),
        quantity=D("0.25"), taker_side="buy")])
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
    trades_record(pair=btc_krw, trades=[TradeInput(
        sequence=7, created_at=timezone.now(), price=D(50500), quantity=D("0.0012"),
        taker_side="sell")])
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
