"""Stopping (by the follower, the leader, the stop-loss), moving money in and out of an
allocation, and the high-water-mark profit share, against the real trade loop and ledger."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from copytrading import errors
from copytrading.models import ProfitShare, Subscription
from copytrading.services import (
    CopyTerms,
    copy_watch,
    leader_stop,
    profit_share_settle,
    subscription_create,
    subscription_stop,
    subscription_top_up,
    subscription_withdraw,
)
from notifications.models import Notification
from orders.models import Order
from orders.services import order_place
from orders.tests.conftest import balance
from wallets.errors import InsufficientFunds

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ledger_clean")]

D = Decimal


def place(user, side, quantity, price) -> Order:
    return order_place(
        user=user, symbol="LPJ-KRW", side=side, type="limit", quantity=D(quantity), price=D(price)
    )


def trade_at(make_user, settle, pair, price: str, quantity: str = "1") -> None:
    """One trade of ``quantity`` LPJ at ``price`` between two others: the last price."""
    seller = make_user(LPJ=quantity)
    buyer = make_user(KRW=str(D(price) * D(quantity) * 2))
    place(seller, "sell", quantity, price)
    place(buyer, "buy", quantity, price)
    settle(pair)


@pytest.fixture
def copied(lpj_krw, make_user, make_leader, follow, settle):
    """A follower whose copy of the leader bought 5 LPJ at 1,000 (allocation: 94,990 KRW +
    5 LPJ), with bids left at 900 for selling back and no ask left."""
    maker = make_user(LPJ="55", KRW="1000000")
    place(maker, "sell", "55", "1000")
    place(maker, "buy", "100", "900")
    settle(lpj_krw)
    leader_user, _ = make_leader(KRW="1000000")
    follower, sub = follow(leader_user, "100000")
    place(leader_user, "buy", "50", "1000")
    settle(lpj_krw)
    settle(lpj_krw)
    assert balance(sub.account_user, "LPJ") == (D(5), D(0))
    return leader_user, follower, sub


def test_a_follower_who_stops_gets_everything_back_sold_to_krw(lpj_krw, settle, copied) -> None:
    # given a copy holding 94,990 KRW and 5 LPJ
    _, follower, sub = copied
    # when the follower stops it
    closing = subscription_stop(follower=follower, subscription_id=sub.pk)
    assert closing.status == Subscription.Status.CLOSING
    settle(lpj_krw)  # the market sell of 5 LPJ fills at the 900 bid
    copy_watch()
    # then it is stopped and the follower has it all back in KRW: 94,990 + 4,500 - 9 fee
    sub.refresh_from_db()
    assert (sub.status, sub.stop_reason) == ("stopped", "follower")
    assert balance(follower, "KRW") == (D(99481), D(0))
    assert balance(sub.account_user, "KRW") == (D(0), D(0))
    assert balance(sub.account_user, "LPJ") == (D(0), D(0))
    # and no profit share on a loss; the follower was told
    assert not ProfitShare.objects.exists()
    assert Notification.objects.filter(user=follower, kind="copy_stopped").count() == 1
    # and a stopped copy cannot be stopped or topped up again
    with pytest.raises(errors.SubscriptionClosed):
        subscription_stop(follower=follower, subscription_id=sub.pk)
    with pytest.raises(errors.SubscriptionClosed):
        subscription_top_up(follower=follower, subscription_id=sub.pk, amount=D(1))


def test_when_the_leader_stops_every_follower_is_told_and_closed(
    lpj_krw, settle, copied, follow
) -> None:
    # given a second follower who never copied anything
    leader_user, follower, sub = copied
    other, idle = follow(leader_user, "50000")
    # when the leader stops leading
    leader_stop(user=leader_user)
    settle(lpj_krw)
    copy_watch()
    # then both copies are stopped and their money is back
    statuses = dict(Subscription.objects.values_list("id", "stop_reason"))
    assert statuses == {sub.pk: "leader_stopped", idle.pk: "leader_stopped"}
    assert balance(other, "KRW") == (D(50000), D(0))
    told = Notification.objects.filter(kind="copy_stopped", user__in=[follower, other])
    assert told.count() == 4  # "being closed", then "stopped", for each


def test_the_stop_loss_closes_the_copy_when_the_allocation_has_lost_enough(
    lpj_krw, make_user, make_leader, follow, settle
) -> None:
    # given a copy with a 2 % stop-loss holding 5 LPJ bought at 1,000 (value 99,990)
    maker = make_user(LPJ="100", KRW="1000000")
    place(maker, "sell", "100", "1000")
    settle(lpj_krw)
    leader_user, _ = make_leader(KRW="1000000")
    follower, sub = follow(leader_user, "100000", stop_loss=D("0.02"))
    place(leader_user, "buy", "50", "1000")
    settle(lpj_krw)
    settle(lpj_krw)
    # when LPJ trades at 800 (value 94,990 + 4,000 = 98,990: down 1.01 %), nothing happens
    trade_at(make_user, settle, lpj_krw, "800", quantity="2")
    assert copy_watch() == 0
    # when it trades at 100 (value 94,990 + 500 = 95,490: down 4.5 %), the copy closes and
    # sells its 5 LPJ to the bid at 300
    trade_at(make_user, settle, lpj_krw, "100", quantity="10")
    place(maker, "buy", "10", "300")
    settle(lpj_krw)
    copy_watch()
    settle(lpj_krw)
    copy_watch()
    sub.refresh_from_db()
    assert (sub.status, sub.stop_reason) == ("stopped", "stop_loss")
    assert balance(sub.account_user, "LPJ") == (D(0), D(0))
    assert balance(follower, "KRW") == (D(94990) + D(1500) - D(3), D(0))  # taker fee 0.2 %


def test_profit_share_is_charged_on_new_highs_only_and_never_twice(
    lpj_krw, make_user, settle, copied
) -> None:
    # given a copy worth 99,990 KRW at 1,000 (its mark: the 100,000 allocated), rate 10 %
    leader_user, _, sub = copied
    leader_before = balance(leader_user, "KRW")[0]
    # when LPJ trades at 3,000: value 94,990 + 15,000 = 109,990, 9,990 over the mark
    trade_at(make_user, settle, lpj_krw, "3000")
    share = profit_share_settle(subscription_id=sub.pk)
    # then the leader earns 999 and the mark is the value after paying it: 108,991
    assert share is not None
    assert (share.value, share.mark_before, share.mark_after, share.amount) == (
        D(109990),
        D(100000),
        D(108991),
        D(999),
    )
    assert balance(leader_user, "KRW")[0] == leader_before + D(999)
    # when it is settled again at the same price, or after a fall, nothing is charged
    assert profit_share_settle(subscription_id=sub.pk) is None
    trade_at(make_user, settle, lpj_krw, "2000")
    assert profit_share_settle(subscription_id=sub.pk) is None
    # when a new high comes (3,500: value 93,991 + 17,500 = 111,491), only the 2,500 above
    # the mark is charged: 250
    trade_at(make_user, settle, lpj_krw, "3500")
    second = profit_share_settle(subscription_id=sub.pk)
    assert second is not None
    assert (second.mark_before, second.value, second.amount, second.mark_after) == (
        D(108991),
        D(111491),
        D(250),
        D(111241),
    )
    sub.refresh_from_db()
    assert sub.profit_share_paid == D(1249)
    assert Notification.objects.filter(user=leader_user, kind="copy_profit_share").count() == 2


def test_top_up_raises_the_mark_and_withdrawal_lowers_it_in_proportion(
    lpj_krw, make_leader, follow
) -> None:
    # given a 100,000 KRW copy with 50,000 more in the follower's wallet
    leader_user, _ = make_leader(KRW="1000000")
    follower, sub = follow(leader_user, "100000", spare="50000")
    # when they top up 50,000 then take 30,000 back
    subscription_top_up(follower=follower, subscription_id=sub.pk, amount=D(50000))
    sub = subscription_withdraw(follower=follower, subscription_id=sub.pk, amount=D(30000))
    # then the figures follow, and new money was never profit
    assert (sub.allocated, sub.withdrawn, sub.high_water_mark) == (
        D(150000),
        D(30000),
        D(120000),
    )
    assert balance(follower, "KRW") == (D(30000), D(0))
    assert profit_share_settle(subscription_id=sub.pk) is None
    # and more than the allocation holds cannot be taken; nothing moves
    with pytest.raises(InsufficientFunds):
        subscription_withdraw(follower=follower, subscription_id=sub.pk, amount=D(120001))
    assert balance(sub.account_user, "KRW") == (D(120000), D(0))


def test_concurrent_withdrawals_never_take_the_same_money_twice(
    lpj_krw, make_leader, follow
) -> None:
    # given a copy of 100,000 KRW
    leader_user, _ = make_leader(KRW="1000000")
    follower, sub = follow(leader_user, "100000")
    outcomes: list[str] = []

    def take() -> None:
        try:
            subscription_withdraw(follower=follower, subscription_id=sub.pk, amount=D(60000))
            outcomes.append("ok")
        except InsufficientFunds:
            outcomes.append("refused")
        finally:
            connection.close()

    # when two withdrawals of 60,000 race
    threads = [threading.Thread(target=take) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then one is refused and the money adds up
    assert sorted(outcomes) == ["ok", "refused"]
    assert balance(follower, "KRW") == (D(60000), D(0))
    assert balance(sub.account_user, "KRW") == (D(40000), D(0))


def test_who_may_copy_whom(lpj_krw, make_user, make_leader, follow) -> None:
    leader_user, _ = make_leader(KRW="1000000")
    stranger = make_user(KRW="100000")
    # a leader cannot copy themselves
    with pytest.raises(errors.CopySelf):
        subscription_create(
            follower=leader_user, leader_handle=leader_user.handle, amount=D(1), terms=CopyTerms()
        )
    # one live subscription per follower and leader
    follower, _ = follow(leader_user, "1000", spare="1000")
    with pytest.raises(errors.AlreadyFollowing):
        subscription_create(
            follower=follower, leader_handle=leader_user.handle, amount=D(1000), terms=CopyTerms()
        )
    # a trader who is not public (or does not lead) cannot be copied
    with pytest.raises(errors.LeaderNotFound):
        subscription_create(
            follower=stranger, leader_handle=stranger.handle, amount=D(1), terms=CopyTerms()
        )
    leader_user.rankings_opt_in = False
    leader_user.save(update_fields=["rankings_opt_in"])
    with pytest.raises(errors.LeaderNotFound):
        subscription_create(
            follower=stranger, leader_handle=leader_user.handle, amount=D(1), terms=CopyTerms()
        )
    # nothing moved for any refusal
    assert balance(stranger, "KRW") == (D(100000), D(0))
    assert balance(follower, "KRW") == (D(1000), D(0))
