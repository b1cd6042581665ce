"""Random copy-trading scenarios (hypothesis) through the real trade loop: whatever the leader,
the market and the followers do, the ledger balances, every leader fill is mirrored exactly
once, the profit share is never charged on money that was not a gain, and a stopped copy
leaves nothing behind in its allocation."""

from __future__ import annotations

import contextlib
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from copytrading.models import CopyIntent, CopyOrder, ProfitShare, Subscription
from copytrading.services import (
    CopyTerms,
    copy_watch,
    leader_start,
    profit_share_settle,
    subscription_create,
    subscription_stop,
    subscription_top_up,
    subscription_withdraw,
)
from orders.cancel import order_cancel_all
from orders.services import order_place
from tradehive.errors import DomainError
from wallets.models import Balance
from wallets.verification import ledger_verify

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ledger_clean")]

D = Decimal

follower_terms = st.fixed_dictionaries(
    {
        "amount": st.integers(min_value=2_000, max_value=300_000),
        "mode": st.sampled_from(["fixed_ratio", "fixed_amount"]),
        "fixed_amount": st.integers(min_value=500, max_value=50_000),
        "max_order_quote": st.one_of(st.none(), st.integers(min_value=1_000, max_value=40_000)),
        "stop_loss": st.one_of(st.none(), st.sampled_from(["0.02", "0.1", "0.5"])),
    }
)
leader_trade = st.tuples(st.just("leader"), st.sampled_from(["buy", "sell"]), st.integers(1, 60))
price_move = st.tuples(st.just("price"), st.integers(500, 2_000), st.integers(1, 5))
action = st.one_of(  # the leader trading and prices moving come up most
    leader_trade,
    leader_trade,
    leader_trade,
    price_move,
    price_move,
    st.tuples(st.just("top_up"), st.integers(0, 7), st.integers(1, 20_000)),
    st.tuples(st.just("withdraw"), st.integers(0, 7), st.integers(1, 50_000)),
    st.tuples(st.just("stop"), st.integers(0, 7), st.just(0)),
    st.tuples(st.just("share"), st.integers(0, 7), st.just(0)),
    st.tuples(st.just("share"), st.integers(0, 7), st.just(0)),
    st.tuples(st.just("watch"), st.just(0), st.just(0)),
)


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    followers=st.lists(follower_terms, min_size=1, max_size=8),
    actions=st.lists(action, min_size=6, max_size=20),
    rate=st.sampled_from(["0", "0.1", "0.3"]),
)
def test_random_scenarios_keep_every_invariant(
    lpj_krw, make_user, settle, followers, actions, rate
) -> None:
    # given a market maker on both sides, a leader and followers with random terms
    maker = make_user(LPJ="100000", KRW="1000000000")
    leader = make_user(KRW="2000000", LPJ="500")
    leader.rankings_opt_in = True
    leader.save(update_fields=["rankings_opt_in"])
    leader_start(user=leader, profit_share_rate=D(rate))
    subs = []
    for terms in followers:
        follower = make_user(KRW=str(terms["amount"] + 50_000))
        subs.append(
            subscription_create(
                follower=follower,
                leader_handle=leader.handle,
                amount=D(terms["amount"]),
                terms=CopyTerms(
                    mode=terms["mode"],
                    fixed_amount=D(terms["fixed_amount"]),
                    max_order_quote=None
                    if terms["max_order_quote"] is None
                    else D(terms["max_order_quote"]),
                    stop_loss=None if terms["stop_loss"] is None else D(terms["stop_loss"]),
                ),
            )
        )
    price = 1000

    mover = make_user(KRW="100000000")

    def quote_around(mid: int) -> None:
        """The maker requotes at ``mid`` (ask) and ``mid - 1`` (bid); one LPJ trades at ``mid``."""
        order_cancel_all(user=maker)
        settle(lpj_krw)
        for side, at in (("sell", mid), ("buy", mid - 1)):
            order_place(
                user=maker, symbol="LPJ-KRW", side=side, type="limit", quantity=D(500), price=D(at)
            )
        settle(lpj_krw)
        order_place(
            user=mover, symbol="LPJ-KRW", side="buy", type="limit", quantity=D(1), price=D(mid)
        )
        settle(lpj_krw)

    quote_around(price)
    # when the leader buys, the price rises and the profit share is settled, then random
    # things happen
    opening = [
        ("leader", "buy", 40),
        ("price", 1300, 1),
        *[("share", i, 0) for i in range(len(subs))],
    ]
    for kind, a, b in [*opening, *actions]:
        try:
            if kind == "leader":
                limit = price if a == "buy" else price - 1
                order_place(
                    user=leader,
                    symbol="LPJ-KRW",
                    side=a,
                    type="limit",
                    quantity=D(b),
                    price=D(limit),
                )
            elif kind == "price":
                price = a
                quote_around(price)
            elif kind == "top_up" and a < len(subs):
                subscription_top_up(
                    follower=subs[a].follower, subscription_id=subs[a].pk, amount=D(b)
                )
            elif kind == "withdraw" and a < len(subs):
                subscription_withdraw(
                    follower=subs[a].follower, subscription_id=subs[a].pk, amount=D(b)
                )
            elif kind == "stop" and a < len(subs):
                subscription_stop(follower=subs[a].follower, subscription_id=subs[a].pk)
            elif kind == "share" and a < len(subs):
                profit_share_settle(subscription_id=subs[a].pk)
            elif kind == "watch":
                copy_watch()
        except DomainError:
            pass  # a refusal (insufficient funds, already stopped...) changes nothing
        settle(lpj_krw)
        settle(lpj_krw)
    for sub in subs:  # close everything at the end
        with contextlib.suppress(DomainError):  # already stopped
            subscription_stop(follower=sub.follower, subscription_id=sub.pk)
    settle(lpj_krw)
    copy_watch()
    # then the ledger balances
    assert ledger_verify() == []
    # and every leader fill was mirrored exactly once, to each follower at most once
    assert not CopyIntent.objects.filter(status="pending").exists()
    for intent in CopyIntent.objects.filter(leader__user=leader):
        copies = CopyOrder.objects.filter(intent=intent)
        assert copies.count() == len({c.subscription_id for c in copies})
    # and the profit share: never negative, adding up, never above the rate of the gains
    for sub in Subscription.objects.filter(leader__user=leader):
        shares = list(ProfitShare.objects.filter(subscription=sub))
        assert all(s.amount > 0 and s.mark_after >= s.mark_before - s.amount for s in shares)
        assert sum((s.amount for s in shares), D(0)) == sub.profit_share_paid
        gains = sum((s.value - s.mark_before for s in shares), D(0))
        assert sub.profit_share_paid <= gains * D(rate)
    # and every copy that stopped left nothing in its allocation
    for sub in Subscription.objects.filter(leader__user=leader, status="stopped"):
        left = Balance.objects.filter(account__user=sub.account_user).exclude(available=0, locked=0)
        assert not left.exists(), list(left.values("asset__symbol", "available", "locked"))
