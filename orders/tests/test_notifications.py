"""What orders tell their owner: fills in trader's words, and every order the exchange ended
(rejected, or cancelled by its terms), whoever placed it, once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from notifications.models import Notification
from orders.cancel import order_cancel
from orders.quarantine import order_quarantine
from orders.services import order_place

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ledger_clean")]

D = Decimal


def place(user, side, quantity, price, **kwargs):
    return order_place(
        user=user,
        symbol="LPJ-KRW",
        side=side,
        type="limit",
        quantity=D(quantity),
        price=D(price),
        **kwargs,
    )


def titles(user) -> list[tuple[str, str]]:
    return [(n.kind, n.title) for n in Notification.objects.filter(user=user).order_by("id")]


def test_a_post_only_order_that_would_take_is_reported_rejected_and_why(
    lpj_krw, make_user, settle
) -> None:
    # given an ask of 5 at 1,010
    place(make_user(LPJ="5"), "sell", "5", "1010")
    settle(lpj_krw)
    # when a post-only buy at that ask is placed and settled
    buyer = make_user(KRW="100000")
    place(buyer, "buy", "5", "1010", post_only=True)
    settle(lpj_krw)
    # then its owner is told it was rejected, in words, with no internal reference
    assert titles(buyer) == [
        (
            "order_rejected",
            "Buy 5 LPJ at 1,010 KRW rejected: post-only, it would have traded at once",
        )
    ]
    note = Notification.objects.get(user=buyer)
    assert note.data["reason"] == "would_take"
    assert note.data["status"] == "rejected"


def test_an_ioc_order_says_what_filled_and_that_the_rest_was_cancelled_in_one_message(
    lpj_krw, make_user, settle
) -> None:
    # given an ask of 3 at 1,000
    seller = make_user(LPJ="3")
    place(seller, "sell", "3", "1000")
    settle(lpj_krw)
    # when an IOC buy of 5 at 1,000 takes the 3 and its rest is cancelled
    buyer = make_user(KRW="100000")
    place(buyer, "buy", "5", "1000", time_in_force="IOC")
    settle(lpj_krw)
    # then the buyer gets one message with both, and the seller a grouped fill message
    assert titles(buyer) == [
        (
            "order_cancelled",
            "Buy 5 LPJ at 1,000 KRW: 3 LPJ filled, the rest cancelled: "
            "immediate-or-cancel, the rest did not fill at once",
        )
    ]
    assert titles(seller) == [("order_filled", "Sell 3 LPJ filled at 1,000 KRW")]


def test_fok_cancels_and_partial_fills_are_reported_in_trader_words(
    lpj_krw, make_user, settle
) -> None:
    # given an ask of 2 at 1,500
    seller = make_user(LPJ="2000")
    place(seller, "sell", "2", "1500")
    settle(lpj_krw)
    buyer = make_user(KRW="10000000")
    # when a fill-or-kill buy of 3 cannot fill whole, and a buy of 1,200 at 1,500 takes 2 and rests
    place(buyer, "buy", "3", "1500", time_in_force="FOK")
    settle(lpj_krw)
    place(buyer, "buy", "1200", "1500")
    settle(lpj_krw)
    # then each is told as a trader says it, amounts grouped by thousands
    assert titles(buyer) == [
        (
            "order_cancelled",
            "Buy 3 LPJ at 1,500 KRW cancelled: fill-or-kill, it could not fill completely at once",
        ),
        ("order_partially_filled", "Buy 1,200 LPJ at 1,500 KRW: 2 LPJ filled (2 of 1,200)"),
    ]


def test_a_cancel_the_user_asked_for_is_not_notified(lpj_krw, make_user, settle) -> None:
    # given a resting bid
    buyer = make_user(KRW="100000")
    bid = place(buyer, "buy", "5", "900")
    settle(lpj_krw)
    # when its owner cancels it
    order_cancel(user=buyer, order_id=bid.pk)
    settle(lpj_krw)
    # then no notification: they know
    assert titles(buyer) == []


def test_an_order_the_relay_quarantines_is_reported_rejected(lpj_krw, make_user) -> None:
    # given a pending order the engine never acknowledged
    buyer = make_user(KRW="100000")
    bid = place(buyer, "buy", "5", "900")
    # when the relay quarantines it as out of the engine's range
    assert order_quarantine(order_id=bid.pk, reason="out_of_range", detail="price too large")
    # then its owner is told, in words
    assert titles(buyer) == [
        (
            "order_rejected",
            "Buy 5 LPJ at 900 KRW rejected: its price or amount is beyond what the market can take",
        )
    ]
