"""The read-only orders admin: bots' orders are shown and filterable, nothing is editable."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import Order
from orders.services import order_place
from orders.simulation import DEFAULT_PLANS, MarketSimulator

pytestmark = pytest.mark.django_db(transaction=True)

LPJ_PLAN = next(plan for plan in DEFAULT_PLANS if plan.symbol == "LPJ-KRW")


@pytest.fixture
def bot_and_people_orders(lpj_krw, make_user, settle) -> tuple[Order, list[Order]]:
    MarketSimulator(plans=(LPJ_PLAN,), seed=1, trade_every_s=3600).step()
    person = make_user(KRW="100000")
    mine = order_place(
        user=person,
        symbol="LPJ-KRW",
        side="buy",
        type="limit",
        price=Decimal(990),
        quantity=Decimal(3),
        client_order_id="my-order-1",
    )
    settle(lpj_krw)
    return mine, list(Order.objects.filter(user__is_bot=True))


def test_the_bot_filter_splits_bots_from_people(admin_client, bot_and_people_orders) -> None:
    # given six bot quotes and one person's order
    mine, bots = bot_and_people_orders
    # when the admin filters by bots, then by people
    bot_page = admin_client.get("/admin/orders/order/?bot=yes")
    people_page = admin_client.get("/admin/orders/order/?bot=no")
    # then each list holds only its own orders
    assert bot_page.status_code == 200
    assert set(bot_page.context["cl"].result_list) == set(bots)
    assert list(people_page.context["cl"].result_list) == [mine]


@pytest.mark.parametrize("term", ["my-order-1", "by-id", "not-a-number"])
def test_orders_are_found_by_id_or_client_id(admin_client, bot_and_people_orders, term) -> None:
    # given a person's order
    mine, _ = bot_and_people_orders
    query = str(mine.pk) if term == "by-id" else term
    # when the admin searches for it
    page = admin_client.get("/admin/orders/order/", {"q": query})
    # then it is found (and a word that is no id finds nothing, without an error)
    assert page.status_code == 200
    expected = [] if term == "not-a-number" else [mine]
    assert list(page.context["cl"].result_list) == expected


def test_orders_and_fills_are_read_only(admin_client, bot_and_people_orders) -> None:
    # given an order
    mine, _ = bot_and_people_orders
    # when the admin opens it and the add pages
    detail = admin_client.get(f"/admin/orders/order/{mine.pk}/change/")
    add_order = admin_client.get("/admin/orders/order/add/")
    add_fill = admin_client.get("/admin/orders/fill/add/")
    fills = admin_client.get("/admin/orders/fill/?bot=yes")
    # then it can be viewed but nothing can be added or saved
    assert detail.status_code == 200
    assert b'name="_save"' not in detail.content
    assert add_order.status_code == 403
    assert add_fill.status_code == 403
    assert fills.status_code == 200
