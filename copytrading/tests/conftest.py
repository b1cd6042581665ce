"""Fixtures of the copy-trading tests: the trade loop's market and users (orders' fixtures), a
public leader, and followers with allocations."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from accounts.models import User
from copytrading.models import Leader, Subscription
from copytrading.services import CopyTerms, leader_start, subscription_create
from orders.tests.conftest import (  # noqa: F401 - fixtures shared with the trade loop's tests
    engine_redis,
    ledger_clean,
    lpj_krw,
    make_user,
    settle,
)

D = Decimal


@pytest.fixture
def make_leader(make_user) -> Callable[..., tuple[User, Leader]]:  # noqa: F811 - imported fixture
    """A trader public in the rankings who leads: ``make_leader(KRW="1000000", rate="0.1")``."""

    def make(rate: str = "0.10", **funds: str) -> tuple[User, Leader]:
        user = make_user(**funds)
        user.rankings_opt_in = True
        user.save(update_fields=["rankings_opt_in"])
        return user, leader_start(user=user, profit_share_rate=D(rate))

    return make


@pytest.fixture
def follow(make_user) -> Callable[..., tuple[User, Subscription]]:  # noqa: F811
    """A follower with ``amount`` KRW allocated to ``leader`` (and ``spare`` KRW left in their
    wallet): ``follow(leader_user, "100000", mode="fixed_amount", fixed_amount=D(...))``."""

    def make(
        leader: User, amount: str, spare: str = "0", **terms: object
    ) -> tuple[User, Subscription]:
        follower = make_user(KRW=str(D(amount) + D(spare)))
        sub = subscription_create(
            follower=follower,
            leader_handle=leader.handle,
            amount=D(amount),
            terms=CopyTerms(**terms),  # type: ignore[arg-type]
        )
        return follower, sub

    return make
