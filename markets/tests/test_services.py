"""Pair validation, the tradability check, status changes and the demo seed."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from django.core.management import call_command

from accounts.models import AuditEvent
from markets.errors import MarketCancelOnly, MarketHalted, UnknownMarket
from markets.models import TradingPair
from markets.services import (
    pair_assert_accepts_orders,
    pair_create,
    pair_get,
    pair_set_status,
    pair_update,
)
from tradehive.errors import InvalidInput

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"tick_size": D("0.5")}, "tick_size"),  # KRW has 0 decimals
        ({"tick_size": D(0)}, "tick_size"),
        ({"lot_size": D("0.000000001")}, "lot_size"),  # BTC has 8
        ({"lot_size": D("-1")}, "lot_size"),
        ({"lot_size": D("0.0001")}, "lot_size"),  # 1000 x 0.0001 = 0.1 KRW: finer than a won
        ({"maker_fee": D("0.0501")}, "maker_fee"),
        ({"taker_fee": D("-0.001")}, "taker_fee"),
        ({"min_notional": D("-1")}, "min_notional"),
        ({"min_notional": D("0.5")}, "min_notional"),
        ({"price_source": "Not A Feed"}, "price_source"),
    ],
)
def test_pair_create_refuses_bad_rules(assets, changes, field) -> None:
    # given otherwise valid rules with one bad value
    rules = {"tick_size": D(1000), "lot_size": D("0.001"), "min_notional": D(5000)} | changes
    # when / then
    with pytest.raises(InvalidInput) as caught:
        pair_create(base=assets["BTC"], quote=assets["KRW"], actor=None, **rules)
    assert field in caught.value.fields
    assert not TradingPair.objects.exists()


def test_base_and_quote_must_differ(assets) -> None:
    with pytest.raises(InvalidInput) as caught:
        pair_create(
            base=assets["KRW"], quote=assets["KRW"], tick_size=D(1), lot_size=D(1), actor=None
        )
    assert "quote" in caught.value.fields


def test_pair_create_derives_the_symbol_and_audits(assets, superuser) -> None:
    # when
    pair = pair_create(
        base=assets["ETH"],
        quote=assets["USDT"],
        tick_size=D("0.01"),
        lot_size=D("0.0001"),
        maker_fee=D("0.001"),
        taker_fee=D("0.002"),
        actor=superuser,
    )
    # then
    assert pair.symbol == "ETH-USDT"
    event = AuditEvent.objects.get(event="market.created")
    assert event.actor == superuser
    assert event.details["symbol"] == "ETH-USDT"
    assert event.details["rules"]["taker_fee"] == "0.002"


def test_a_second_pair_of_the_same_assets_is_refused(btc_krw, assets) -> None:
    with pytest.raises(InvalidInput):
        pair_create(
            base=assets["BTC"], quote=assets["KRW"], tick_size=D(1), lot_size=D(1), actor=None
        )


def test_pair_update_records_old_and_new_values(btc_krw, superuser) -> None:
    # when
    pair_update(pair=btc_krw, actor=superuser, taker_fee=D("0.002"), display_order=5)
    # then
    btc_krw.refresh_from_db()
    assert btc_krw.taker_fee == D("0.002")
    event = AuditEvent.objects.get(event="market.changed")
    assert event.details["changes"]["taker_fee"] == {"from": "0.0015", "to": "0.002"}
    assert event.details["changes"]["display_order"] == {"from": "0", "to": "5"}


def test_pair_update_refuses_status_and_assets(btc_krw, assets) -> None:
    with pytest.raises(InvalidInput) as caught:
        pair_update(pair=btc_krw, actor=None, status="halted", base=assets["ETH"])
    assert set(caught.value.fields) == {"status", "base"}


def test_halted_and_cancel_only_markets_refuse_orders(btc_krw, superuser) -> None:
    # given an active market: accepted
    pair_assert_accepts_orders(pair=btc_krw)
    # when halted
    pair_set_status(pair=btc_krw, status="halted", actor=superuser)
    # then 423 market_halted
    with pytest.raises(MarketHalted) as caught:
        pair_assert_accepts_orders(pair=pair_get(symbol="BTC-KRW"))
    assert (caught.value.code, caught.value.status) == ("market_halted", 423)
    # when cancel-only: 423 market_cancel_only (still a MarketHalted for callers)
    pair_set_status(pair=btc_krw, status="cancel_only", actor=superuser)
    with pytest.raises(MarketCancelOnly) as caught:
        pair_assert_accepts_orders(pair=pair_get(symbol="BTC-KRW"))
    assert (caught.value.code, caught.value.status) == ("market_cancel_only", 423)
    assert isinstance(caught.value, MarketHalted)
    # and resumed
    pair_set_status(pair=btc_krw, status="active", actor=superuser)
    pair_assert_accepts_orders(pair=pair_get(symbol="BTC-KRW"))


def test_status_changes_are_audited_once(btc_krw, superuser) -> None:
    # when halted twice
    pair_set_status(pair=btc_krw, status="halted", actor=superuser, reason="incident 12")
    pair_set_status(pair=btc_krw, status="halted", actor=superuser)
    # then one audit row
    events = list(AuditEvent.objects.filter(event="market.status_changed"))
    assert len(events) == 1
    assert events[0].actor == superuser
    assert events[0].details == {
        "symbol": "BTC-KRW",
        "old_status": "active",
        "new_status": "halted",
        "reason": "incident 12",
    }


def test_unknown_status_is_refused(btc_krw) -> None:
    with pytest.raises(InvalidInput):
        pair_set_status(pair=btc_krw, status="paused", actor=None)


def test_pair_get_is_case_insensitive_and_404s_unknown_markets(btc_krw) -> None:
    assert pair_get(symbol="btc-krw") == btc_krw
    with pytest.raises(UnknownMarket) as caught:
        pair_get(symbol="DOGE-KRW")
    assert (caught.value.code, caught.value.status) == ("unknown_market", 404)


def test_seed_demo_is_idempotent(db) -> None:
    # when run twice
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    # then the five markets exist once each, feed- and book-priced as designed
    pairs = {p.symbol: p for p in TradingPair.objects.all()}
    assert list(pairs) == ["BTC-KRW", "ETH-KRW", "XRP-KRW", "LPJ-KRW", "BTC-USDT"]
    assert {s for s, p in pairs.items() if p.price_source == "sim"} == {
        "BTC-KRW",
        "ETH-KRW",
        "XRP-KRW",
    }
    assert pairs["BTC-KRW"].tick_size == D(1000)
    assert pairs["BTC-KRW"].min_notional == D(5000)
    assert AuditEvent.objects.filter(event="market.created").count() == 5
