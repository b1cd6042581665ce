"""Notifications: created after commit by settlement and withdrawal decisions, listed with cursor
pagination and an unread filter, marked read one by one or all at once."""

from __future__ import annotations

from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from rest_framework.test import APIClient

from notifications.models import Notification
from notifications.services import (
    NotificationInput,
    StoredNotification,
    notification_send,
    notifications_store,
)
from orders.services import order_place
from realtime.tests.conftest import access_token
from wallets.seed import asset_seed_defaults
from wallets.withdrawals import withdrawal_complete, withdrawal_reject, withdrawal_request

pytestmark = pytest.mark.django_db(transaction=True)
ETH_ADDRESS = "0x" + "a" * 40


def api(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token(user)}")
    return client


def test_partial_then_full_fill_and_a_triggered_stop_notify_once_each(
    lpj_krw, make_user, settle
) -> None:
    # given a maker selling 10 in two takes, and a stop buy above the market
    maker = make_user(LPJ="50")
    taker = make_user(KRW="100000")
    stopper = make_user(KRW="100000")
    ask = order_place(
        user=maker,
        symbol="LPJ-KRW",
        side="sell",
        type="limit",
        quantity=Decimal(10),
        price=Decimal(1000),
    )
    order_place(
        user=maker,
        symbol="LPJ-KRW",
        side="sell",
        type="limit",
        quantity=Decimal(5),
        price=Decimal(1100),
    )
    settle(lpj_krw)
    order_place(
        user=taker,
        symbol="LPJ-KRW",
        side="buy",
        type="limit",
        quantity=Decimal(1),
        price=Decimal(1000),
    )
    settle(lpj_krw)
    stop = order_place(
        user=stopper,
        symbol="LPJ-KRW",
        side="buy",
        type="stop_limit",
        quantity=Decimal(2),
        price=Decimal(1100),
        stop_price=Decimal(1050),
    )
    settle(lpj_krw)
    # when the rest of the ask fills, then a trade at 1100 triggers the stop
    order_place(
        user=taker,
        symbol="LPJ-KRW",
        side="buy",
        type="limit",
        quantity=Decimal(10),
        price=Decimal(1100),
    )
    for _ in range(3):
        settle(lpj_krw)
    # then the maker got a partial and a full fill, the stop its trigger (once)
    kinds = list(
        Notification.objects.filter(user=maker).order_by("id").values_list("kind", flat=True)
    )
    assert kinds[:2] == ["order_partially_filled", "order_filled"]
    assert Notification.objects.get(user=maker, kind="order_filled").data["order_id"] == ask.pk
    triggered = Notification.objects.filter(user=stopper, kind="stop_triggered")
    assert [n.data["order_id"] for n in triggered] == [stop.pk]


def test_a_repeated_event_creates_and_pushes_one_notification(make_user, redis_client) -> None:
    # given a user listening on their notifications group
    user = make_user()
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(f"user.{user.pk}.notifications", channel)
    # when the same event is reported twice
    first = notification_send(
        user_id=user.pk, kind="order_filled", key="order:1:filled", title="Buy 1 LPJ-KRW filled"
    )
    second = notification_send(
        user_id=user.pk, kind="order_filled", key="order:1:filled", title="Buy 1 LPJ-KRW filled"
    )
    # then one row exists and one push went out
    assert first is not None
    assert second is None
    pushed = async_to_sync(layer.receive)(channel)
    assert pushed["data"]["id"] == first.pk
    assert pushed["channel"] == "notifications"
    assert Notification.objects.filter(user=user).count() == 1


def test_notifications_store_stores_each_event_once(make_user) -> None:
    # given an event already reported, and a batch reporting it again, twice a new one, and
    # another user's event with the same key
    alice, bob = make_user(), make_user()
    notification_send(user_id=alice.pk, kind="order_filled", key="order:1:filled", title="before")
    items = [
        NotificationInput(
            user_id=alice.pk, kind="order_filled", key="order:1:filled", title="again"
        ),
        NotificationInput(
            user_id=alice.pk,
            kind="order_partially_filled",
            key="order:2:partial:9",
            title="new",
            data={"quantity": "1.5"},
        ),
        NotificationInput(
            user_id=alice.pk,
            kind="order_partially_filled",
            key="order:2:partial:9",
            title="new",
            data={"quantity": "1.5"},
        ),
        NotificationInput(user_id=bob.pk, kind="order_filled", key="order:1:filled", title="bob's"),
    ]
    # when settlement appends them
    stored = notifications_store(items=items)
    # then only the unreported events became rows, once each, with their data
    assert [(n.user_id, n.key, n.title) for n in stored] == [
        (alice.pk, "order:2:partial:9", "new"),
        (bob.pk, "order:1:filled", "bob's"),
    ]
    row = Notification.objects.get(pk=stored[0].pk)
    assert (row.kind, row.data, row.read_at) == (
        "order_partially_filled",
        {"quantity": "1.5"},
        None,
    )
    assert Notification.objects.filter(user=alice).count() == 2


def test_withdrawal_decisions_notify_after_commit(make_user, admin_user) -> None:
    # given two pending withdrawals
    asset_seed_defaults()
    user = make_user(ETH="5")
    sent = withdrawal_request(user=user, asset_symbol="ETH", amount=Decimal(1), address=ETH_ADDRESS)
    refused = withdrawal_request(
        user=user, asset_symbol="ETH", amount=Decimal(1), address=ETH_ADDRESS
    )
    # when an admin completes one and rejects the other
    withdrawal_complete(withdrawal_id=sent.pk, admin=admin_user, txid="0xabc1234567")
    withdrawal_reject(withdrawal_id=refused.pk, admin=admin_user, reason="sanctioned address")
    # then the user has one notification of each
    notes = {n.kind: n for n in Notification.objects.filter(user=user)}
    assert set(notes) == {"withdrawal_completed", "withdrawal_rejected"}
    assert notes["withdrawal_completed"].data["withdrawal_id"] == sent.pk
    assert notes["withdrawal_rejected"].data["reason"] == "sanctioned address"
    # and each title says it as the user reads it: the amount at ETH's 8 decimals, the
    # transaction id or the reason
    assert notes["withdrawal_completed"].title == (
        "Withdrawal of 1.00000000 ETH completed: transaction 0xabc1234567"
    )
    assert notes["withdrawal_completed"].data["txid"] == "0xabc1234567"
    assert notes["withdrawal_rejected"].title == (
        "Withdrawal of 1.00000000 ETH rejected: sanctioned address"
    )


def created(notification: StoredNotification | None) -> StoredNotification:
    """A notification the test just sent (``notification_send`` gives None for a repeat)."""
    assert notification is not None
    return notification


def test_list_pages_filters_unread_and_marks_read(make_user) -> None:
    # given 3 notifications of a user and one of someone else
    user, other = make_user(), make_user()
    notes = [
        created(
            notification_send(
                user_id=user.pk, kind="order_filled", key=f"order:{i}:filled", title=f"n{i}"
            )
        )
        for i in range(3)
    ]
    theirs = created(
        notification_send(
            user_id=other.pk, kind="order_filled", key="order:9:filled", title="theirs"
        )
    )
    client = api(user)
    # when the first page of 2 is read
    page = client.get("/api/v1/notifications?limit=2").json()
    # then it is the newest two, with a cursor to the last
    assert [n["title"] for n in page["results"]] == ["n2", "n1"]
    assert page["results"][0]["read"] is False
    rest = client.get(f"/api/v1/notifications?limit=2&cursor={page['next']}").json()
    assert [n["title"] for n in rest["results"]] == ["n0"]
    assert rest["next"] is None
    # when one is marked read
    answer = client.post(f"/api/v1/notifications/{notes[1].pk}/read")
    # then it says so and the unread filter leaves it out
    assert answer.status_code == 200
    assert answer.json()["read"] is True
    unread = client.get("/api/v1/notifications?unread=true").json()["results"]
    assert [n["title"] for n in unread] == ["n2", "n0"]
    # when someone else's is marked read: not found
    assert client.post(f"/api/v1/notifications/{theirs.pk}/read").status_code == 404
    # when all are marked read
    assert client.post("/api/v1/notifications/read-all").json() == {"marked": 2}
    assert client.get("/api/v1/notifications?unread=true").json()["results"] == []
    # and anonymous callers are refused
    assert APIClient().get("/api/v1/notifications").status_code == 401


def test_rest_depth_aggregates_levels_best_first(lpj_krw, make_user, settle) -> None:
    # given two asks at one price and a bid
    seller = make_user(LPJ="50")
    buyer = make_user(KRW="100000")
    for quantity, price in (("3", "1010"), ("2", "1010"), ("4", "1020")):
        order_place(
            user=seller,
            symbol="LPJ-KRW",
            side="sell",
            type="limit",
            quantity=Decimal(quantity),
            price=Decimal(price),
        )
    order_place(
        user=buyer,
        symbol="LPJ-KRW",
        side="buy",
        type="limit",
        quantity=Decimal(7),
        price=Decimal(990),
    )
    settle(lpj_krw)
    # when the depth is read, with a limit of one level
    full = APIClient().get("/api/v1/markets/lpj-krw/depth").json()
    top = APIClient().get("/api/v1/markets/LPJ-KRW/depth?limit=1").json()
    # then levels are aggregated, best first, with the engine's sequence
    assert (full["bids"], full["asks"]) == ([["990", "7"]], [["1010", "5"], ["1020", "4"]])
    assert full["symbol"] == "LPJ-KRW"
    assert full["sequence"] >= 4
    assert top["asks"] == [["1010", "5"]]
    assert APIClient().get("/api/v1/markets/LPJ-KRW/depth?limit=0").status_code == 400
    assert APIClient().get("/api/v1/markets/NOPE-KRW/depth").status_code == 404
