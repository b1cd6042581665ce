"""Mirroring against the real trade loop: a leader's fills settle, intents are written with
them, copies are placed through ``order_place`` and settled like any order.

The market (orders' fixture): LPJ-KRW, tick 1 KRW, lot 1 LPJ, min notional 1,000 KRW, maker
0.1 %, taker 0.2 %; copies' slippage cap 0.5 % (``COPY_SLIPPAGE``)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from copytrading import mirror
from copytrading.models import CopyIntent, CopyOrder, Subscription
from copytrading.sizing import Skip
from orders.models import Order
from orders.services import order_place
from orders.tests.conftest import balance

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ledger_clean")]

D = Decimal


def place(user, side, quantity, price, **kwargs) -> Order:
    return order_place(
        user=user,
        symbol="LPJ-KRW",
        side=side,
        type="limit",
        quantity=D(quantity),
        price=D(price),
        **kwargs,
    )


def order_of(copy: CopyOrder) -> Order:
    assert copy.order is not None, copy.reason
    return copy.order


def copies_of(sub: Subscription) -> list[CopyOrder]:
    return list(CopyOrder.objects.filter(subscription=sub).select_related("order").order_by("id"))


def test_a_leader_taker_buy_is_copied_at_their_share_of_equity(
    lpj_krw, make_user, make_leader, follow, settle
) -> None:
    # given asks of 100 LPJ at 1,000 and 1,001, a leader with 1,000,000 KRW, and a follower who
    # allocated 100,000 KRW (a tenth of the leader's equity)
    maker = make_user(LPJ="200")
    place(maker, "sell", "100", "1000")
    place(maker, "sell", "100", "1001")
    settle(lpj_krw)
    leader_user, _ = make_leader(KRW="1000000")
    follower, sub = follow(leader_user, "100000")
    # when the leader buys 50 LPJ at 1,000 (50,000 KRW: 5 % of their equity)
    leader_order = place(leader_user, "buy", "50", "1000")
    settle(lpj_krw)  # the leader's fill settles, its intent is mirrored, the copy placed
    settle(lpj_krw)  # the copy's fill settles
    # then the follower's copy bought 5 LPJ (5 % of 100,000 KRW at 1,000) as an IOC limit at
    # 1,005 (1,000 + 0.5 %), marked as a copy of the leader's order, and it filled at 1,000
    [copy] = copies_of(sub)
    assert copy.status == CopyOrder.Status.PLACED
    order = order_of(copy)
    assert (order.side, order.quantity, order.price, order.time_in_force) == (
        "buy",
        D(5),
        D(1005),
        "IOC",
    )
    assert order.copied_from_id == leader_order.pk
    assert (order.status, order.filled_quantity, order.filled_quote) == ("filled", D(5), D(5000))
    # and the money moved in the allocation only: 5 LPJ in, 5,000 + 10 fee KRW out
    assert balance(sub.account_user, "LPJ") == (D(5), D(0))
    assert balance(sub.account_user, "KRW") == (D(94990), D(0))
    assert balance(follower, "KRW") == (D(0), D(0))
    # and the intent is done
    assert CopyIntent.objects.get().status == CopyIntent.Status.DONE


def test_a_resting_maker_order_is_copied_when_it_fills(
    lpj_krw, make_user, make_leader, follow, settle
) -> None:
    # given a leader resting a buy of 20 at 1,000 and a follower with a tenth of their equity
    leader_user, _ = make_leader(KRW="1000000")
    _, sub = follow(leader_user, "100000")
    place(leader_user, "buy", "20", "1000")
    settle(lpj_krw)
    # then nothing is copied while it rests
    assert copies_of(sub) == []
    # when a seller hits it with 20, leaving 10 more for sale at 1,000
    seller = make_user(LPJ="30")
    place(seller, "sell", "30", "1000")
    settle(lpj_krw)
    settle(lpj_krw)
    # then the follower's copy of 2 (20 x 100,000 / 1,000,000) bought from the rest at 1,000
    [copy] = copies_of(sub)
    assert (order_of(copy).quantity, order_of(copy).filled_quantity) == (D(2), D(2))
    assert balance(sub.account_user, "LPJ") == (D(2), D(0))


def test_skips_are_recorded_with_their_reason(
    lpj_krw, make_user, make_leader, follow, settle
) -> None:
    # given liquidity, a leader, and followers each of whom cannot copy for a different reason
    maker = make_user(LPJ="500")
    place(maker, "sell", "500", "1000")
    settle(lpj_krw)
    leader_user, _ = make_leader(KRW="1000000")
    _, other_market = follow(leader_user, "100000", markets=["LPJ-KRW"])
    other_market.markets = ["BTC-KRW"]  # as if LPJ-KRW were not chosen
    other_market.save(update_fields=["markets"])
    _, tiny = follow(leader_user, "10000")  # 5 % of 10,000 = 500 KRW < 1,000 minimum
    _, fixed = follow(leader_user, "5000", mode="fixed_amount", fixed_amount=D(20000))
    _, capped = follow(leader_user, "100000", max_order_quote=D(2000))
    # when the leader buys 50 at 1,000
    place(leader_user, "buy", "50", "1000")
    settle(lpj_krw)
    settle(lpj_krw)
    # then each skip names its reason and nothing was spent; the capped copy bought 2
    assert [(c.status, c.reason) for c in copies_of(other_market)] == [
        ("skipped", Skip.MARKET_NOT_COPIED)
    ]
    assert [c.reason for c in copies_of(tiny)] == [Skip.BELOW_MINIMUM]
    assert [c.reason for c in copies_of(fixed)] == [Skip.BEYOND_ALLOCATION]
    assert balance(fixed.account_user, "KRW") == (D(5000), D(0))
    [copy] = copies_of(capped)
    assert order_of(copy).filled_quantity == D(2)


def test_a_sell_is_the_followers_share_of_the_position_never_more(
    lpj_krw, make_user, make_leader, follow, settle
) -> None:
    # given a leader holding 100 LPJ and a follower whose allocation holds 7
    leader_user, _ = make_leader(KRW="900000", LPJ="100")
    _, sub = follow(leader_user, "100000")
    from wallets.models import Asset
    from wallets.services import wallet_account_get, wallet_credit

    wallet_credit(
        account=wallet_account_get(user=sub.account_user),
        asset=Asset.objects.get(symbol="LPJ"),
        amount=D(7),
        reference="test",
    )
    buyer = make_user(KRW="1000000")
    place(buyer, "buy", "200", "1000")
    settle(lpj_krw)
    # when the leader sells 50 (half their position), then the rest
    place(leader_user, "sell", "50", "1000")
    settle(lpj_krw)
    settle(lpj_krw)
    place(leader_user, "sell", "50", "1000")
    settle(lpj_krw)
    settle(lpj_krw)
    # then the follower sold 3 (half of 7, down to the lot), then the 4 left, never more
    sold = [order_of(c).filled_quantity for c in copies_of(sub)]
    assert sold == [D(3), D(4)]
    assert balance(sub.account_user, "LPJ") == (D(0), D(0))


def test_a_redelivered_intent_or_a_second_worker_never_copies_twice(
    lpj_krw, make_user, make_leader, follow, settle
) -> None:
    # given a mirrored leader fill
    maker = make_user(LPJ="100")
    place(maker, "sell", "100", "1000")
    settle(lpj_krw)
    leader_user, _ = make_leader(KRW="1000000")
    _, sub = follow(leader_user, "100000")
    place(leader_user, "buy", "50", "1000")
    settle(lpj_krw)
    intent = CopyIntent.objects.get()
    # when its dispatch is delivered again, and the replay runs
    assert mirror.intents_mirror(intent_ids=[intent.pk]) == 0
    assert mirror.intents_replay(older_than_s=0) == 0
    # then there is still one copy
    assert len(copies_of(sub)) == 1


def test_an_intent_whose_dispatch_was_lost_is_replayed_once(
    lpj_krw, make_user, make_leader, follow, settle
) -> None:
    # given a leader fill settled while the dispatch goes nowhere (a worker that died)
    maker = make_user(LPJ="100")
    place(maker, "sell", "100", "1000")
    settle(lpj_krw)
    leader_user, _ = make_leader(KRW="1000000")
    _, sub = follow(leader_user, "100000")
    lost: list[list[mirror.ChunkRef]] = []
    working = mirror._dispatch
    mirror.dispatcher_set(lost.append)
    try:
        place(leader_user, "buy", "50", "1000")
        settle(lpj_krw)
    finally:
        mirror.dispatcher_set(working)
    assert len(lost) == 1
    assert copies_of(sub) == []
    # when the replay runs (twice)
    assert mirror.intents_replay(older_than_s=0) == 1
    assert mirror.intents_replay(older_than_s=0) == 0
    settle(lpj_krw)
    # then the copy was placed once and filled
    [copy] = copies_of(sub)
    assert order_of(copy).filled_quantity == D(5)


def test_paused_and_own_fills_are_not_copied(
    lpj_krw, make_user, make_leader, follow, settle
) -> None:
    # given a paused follower
    maker = make_user(LPJ="100")
    place(maker, "sell", "100", "1000")
    settle(lpj_krw)
    leader_user, _ = make_leader(KRW="1000000")
    _, sub = follow(leader_user, "100000")
    Subscription.objects.filter(pk=sub.pk).update(status=Subscription.Status.PAUSED)
    # when the leader trades
    place(leader_user, "buy", "50", "1000")
    settle(lpj_krw)
    # then the intent is done with no copy
    assert CopyIntent.objects.get().status == CopyIntent.Status.DONE
    assert copies_of(sub) == []
