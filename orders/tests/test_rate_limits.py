"""Order placement spends the user's order budget (``RATE_LIMIT_USER_ORDERS_PER_10S``): a burst
of 300 orders meets 429s, and the refused ones hold no money and create no order."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accounts.services import token_pair_issue
from orders.models import Order
from orders.tests.conftest import balance


@pytest.mark.django_db
def test_300_orders_in_a_burst_meet_429s_past_the_order_budget(lpj_krw, make_user) -> None:
    # given a funded user signed in with a JWT, early enough in a 10 s window
    user = make_user(KRW="10000000")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_issue(user=user)['access']}")
    if (left := 10 - time.time() % 10) < 6:
        time.sleep(left + 0.05)
    body = {"symbol": "LPJ-KRW", "side": "buy", "type": "limit", "quantity": "1", "price": "1000"}
    # when it sends 300 orders as fast as it can
    answers = [client.post("/api/v1/orders", body, format="json") for _ in range(300)]
    # then the budget's worth are placed and the rest refused with the order headers
    allowed = settings.RATE_LIMIT_USER_ORDERS_PER_10S
    assert [a.status_code for a in answers] == [201] * allowed + [429] * (300 - allowed)
    placed, refused = answers[allowed - 1], answers[-1]
    assert placed["X-RateLimit-Orders-Limit"] == str(allowed)
    assert placed["X-RateLimit-Orders-Remaining"] == "0"
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 10
    assert refused["X-RateLimit-Orders-Remaining"] == "0"
    # and only the placed orders exist and hold funds
    assert Order.objects.filter(user=user).count() == allowed
    assert balance(user, "KRW")[1] > 0
    # and reading its orders is still allowed: only placements ran out
    assert client.get("/api/v1/orders").status_code == 200
