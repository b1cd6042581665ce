"""Orders over /api/v1 signed with an API key instead of a JWT (accounts.api_keys)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from accounts.api_keys import api_key_create
from accounts.tests.signed import SignedClient
from orders.models import Order
from orders.tests.conftest import balance

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ledger_clean")]


def test_a_signed_key_places_and_cancels_orders(lpj_krw, make_user) -> None:
    user = make_user(KRW="100000")
    key, secret = api_key_create(user=user, label="bot", permissions=["trade"])
    client = SignedClient(key.key, secret)
    body = json.dumps(
        {"symbol": "LPJ-KRW", "side": "buy", "type": "limit", "quantity": "3", "price": "1000"}
    )
    placed = client.request("POST", "/api/v1/orders", body=body)
    assert placed.status_code == 201, placed.content
    order_id = placed.json()["id"]
    assert Order.objects.get(pk=order_id).user == user
    assert balance(user, "KRW")[1] > 0  # held

    listed = client.get("/api/v1/orders", symbol="LPJ-KRW", status="open")
    assert [o["id"] for o in listed.json()["results"]] == [order_id]

    cancelled = client.request("DELETE", f"/api/v1/orders/{order_id}")
    assert cancelled.status_code == 200, cancelled.content


def test_a_read_key_places_nothing_and_moves_no_money(lpj_krw, make_user) -> None:
    user = make_user(KRW="100000")
    key, secret = api_key_create(user=user, label="watch", permissions=["read"])
    body = json.dumps(
        {"symbol": "LPJ-KRW", "side": "buy", "type": "limit", "quantity": "3", "price": "1000"}
    )
    refused = SignedClient(key.key, secret).request("POST", "/api/v1/orders", body=body)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "api_key_permission"
    assert not Order.objects.exists()
    assert balance(user, "KRW") == (Decimal(100000), Decimal(0))
