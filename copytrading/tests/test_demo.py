"""The demo of ``make run``: a labelled demo leader with demo followers, whose trades are
copied like anyone's."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import call_command

from copytrading.demo import DEMO_FOLLOWERS, DEMO_LEADER
from copytrading.models import CopyOrder, Leader, Subscription
from orders.services import order_place
from orders.simulation import bot_topup

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ledger_clean")]

D = Decimal


def test_the_demo_leader_is_a_labelled_bot_copied_by_demo_followers(
    lpj_krw, make_user, settle
) -> None:
    # when the demo is seeded twice (make run seeds it at every start)
    call_command("seed_copy_demo")
    call_command("seed_copy_demo")
    # then one demo leader, a bot shown in the rankings, has the three demo followers
    leader = Leader.objects.select_related("user").get()
    assert (leader.user.username, leader.user.is_bot, leader.user.rankings_opt_in) == (
        DEMO_LEADER,
        True,
        True,
    )
    subs = Subscription.objects.filter(leader=leader, status="active")
    assert sorted(s.follower.username for s in subs) == sorted(DEMO_FOLLOWERS)
    # when the demo leader buys against the book, then its followers' copies are placed
    bot_topup(user=leader.user, funds={"KRW": D(10_000_000)})
    maker = make_user(LPJ="10000")
    order_place(
        user=maker, symbol="LPJ-KRW", side="sell", type="limit", quantity=D(10000), price=D(1000)
    )
    settle(lpj_krw)
    order_place(
        user=leader.user,
        symbol="LPJ-KRW",
        side="buy",
        type="limit",
        quantity=D(1000),
        price=D(1000),
    )
    settle(lpj_krw)
    settle(lpj_krw)
    placed = CopyOrder.objects.filter(status="placed", order__status="filled")
    assert placed.count() == 3
