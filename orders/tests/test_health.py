"""/healthz reports how far settlement trails the engine."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from engine.keys import events_key
from orders.services import order_place
from settlement.selectors import settlement_lag_ms
from settlement.services import GROUP
from tradehive.redis_client import get_redis

pytestmark = pytest.mark.django_db(transaction=True)


def test_engine_lag_counts_unsettled_events_and_falls_to_zero(
    lpj_krw, make_user, settle, client
) -> None:
    # given a settled market
    assert settlement_lag_ms(client=get_redis(), symbols=["LPJ-KRW"]) == 0
    # when an order reaches the engine and settlement has not run for a while
    order_place(
        user=make_user(LPJ="5"),
        symbol="LPJ-KRW",
        side="sell",
        type="limit",
        quantity=Decimal(5),
        price=Decimal(1000),
    )
    time.sleep(0.2)
    # then the lag is the age of the oldest unsettled event
    lag = settlement_lag_ms(client=get_redis(), symbols=["LPJ-KRW"])
    assert 200 <= lag < 5000
    assert client.get("/healthz").json()["engine_lag_ms"] >= 200
    # when a consumer read them and died before acknowledging, they still count
    get_redis().xreadgroup(GROUP, "crashed", {events_key("LPJ-KRW"): ">"})
    assert settlement_lag_ms(client=get_redis(), symbols=["LPJ-KRW"]) >= 200
    # and once settled it is zero again
    settle(lpj_krw)
    assert settlement_lag_ms(client=get_redis(), symbols=["LPJ-KRW"]) == 0
    assert client.get("/healthz").json()["engine_lag_ms"] == 0


def test_engine_lag_of_a_market_that_never_traded_is_zero(redis_client) -> None:
    assert settlement_lag_ms(client=redis_client, symbols=["NEW-KRW"]) == 0
