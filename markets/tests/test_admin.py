"""Django admin as the operations console: validation and the status actions."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from accounts.models import AuditEvent
from markets.models import TradingPair

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/markets/tradingpair/add/"
LIST_URL = "/admin/markets/tradingpair/"


def form(assets, **overrides) -> dict:
    data = {
        "base": assets["ETH"].pk,
        "quote": assets["KRW"].pk,
        "status": "active",
        "tick_size": "1000",
        "lot_size": "0.001",
        "min_notional": "5000",
        "maker_fee": "0.0005",
        "taker_fee": "0.0015",
        "price_source": "book",
        "feed_symbol": "",
        "display_order": "3",
    }
    return data | overrides


def test_admin_creates_a_pair_and_audits_it(admin_client, assets, superuser) -> None:
    # when an admin submits a valid pair
    response = admin_client.post(ADD_URL, form(assets))
    # then it exists with its derived symbol and the creation is audited
    assert response.status_code == 302
    pair = TradingPair.objects.get()
    assert pair.symbol == "ETH-KRW"
    assert AuditEvent.objects.get(event="market.created").actor == superuser


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"tick_size": "0.5"}, "finer than that"),
        ({"lot_size": "0"}, "greater than zero"),
        ({"taker_fee": "0.06"}, "between 0 and 0.05"),
        ({"quote": "ETH"}, "must differ"),
    ],
)
def test_admin_refuses_invalid_pairs(admin_client, assets, overrides, message) -> None:
    # given one bad value
    if overrides.get("quote") == "ETH":
        overrides = {"quote": assets["ETH"].pk}
    # when submitted
    response = admin_client.post(ADD_URL, form(assets, **overrides))
    # then the form comes back with the error and nothing is created
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not TradingPair.objects.exists()
    assert not AuditEvent.objects.filter(event="market.created").exists()


def test_admin_edit_goes_through_the_service_and_is_audited(admin_client, btc_krw) -> None:
    # when the taker fee is edited
    data = {
        "tick_size": "10000",
        "lot_size": "0.0001",
        "min_notional": "5000",
        "maker_fee": "0.0005",
        "taker_fee": "0.0025",
        "price_source": "book",
        "feed_symbol": "",
        "display_order": "0",
    }
    response = admin_client.post(f"{LIST_URL}{btc_krw.pk}/change/", data)
    # then
    assert response.status_code == 302
    btc_krw.refresh_from_db()
    assert btc_krw.taker_fee == D("0.0025")
    event = AuditEvent.objects.get(event="market.changed")
    assert event.details["changes"] == {"taker_fee": {"from": "0.0015", "to": "0.0025"}}


@pytest.mark.parametrize(
    ("action", "status"),
    [
        ("halt_markets", "halted"),
        ("set_cancel_only", "cancel_only"),
    ],
)
def test_status_actions_change_and_audit(admin_client, btc_krw, superuser, action, status) -> None:
    # when the admin runs the action on the market
    response = admin_client.post(LIST_URL, {"action": action, "_selected_action": [btc_krw.pk]})
    # then the status changed and the audit log says who did it
    assert response.status_code == 302
    btc_krw.refresh_from_db()
    assert btc_krw.status == status
    event = AuditEvent.objects.get(event="market.status_changed")
    assert event.actor == superuser
    assert (event.details["old_status"], event.details["new_status"]) == ("active", status)
    # and resume brings it back, audited too
    admin_client.post(LIST_URL, {"action": "resume_markets", "_selected_action": [btc_krw.pk]})
    btc_krw.refresh_from_db()
    assert btc_krw.status == "active"
    assert AuditEvent.objects.filter(event="market.status_changed").count() == 2


def test_status_is_not_editable_on_the_change_form(admin_client, btc_krw) -> None:
    response = admin_client.get(f"{LIST_URL}{btc_krw.pk}/change/")
    assert response.status_code == 200
    assert 'name="status"' not in response.content.decode()
    assert 'name="taker_fee"' in response.content.decode()


@pytest.mark.parametrize("tick_size", [" 1000 ", "1000\n", "1\u0660\u0660\u0660", "1e3", "+1000"])
def test_admin_reads_decimals_with_the_api_grammar(admin_client, assets, tick_size) -> None:
    # given a tick size with whitespace, another script's digits, an exponent or a sign
    # when submitted
    response = admin_client.post(ADD_URL, form(assets, tick_size=tick_size))
    # then it is refused like the same text in the API, and nothing is created
    assert response.status_code == 200
    assert "plain positive decimal" in response.content.decode()
    assert not TradingPair.objects.exists()
