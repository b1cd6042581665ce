"""One leader fill mirrored in parts (``COPY_MIRROR_CHUNK`` followers each, each part its own
transaction and task): every part happens once, a redelivered part copies nothing, and a crash
between parts or in one loses no copy and makes none twice.

Five followers in parts of two: three parts, part ``n`` copying the subscriptions whose id
modulo 3 is ``n``."""

from __future__ import annotations

from decimal import Decimal

import pytest

from copytrading import mirror
from copytrading.models import CopyChunk, CopyIntent, CopyOrder
from orders.models import Order
from orders.services import order_place
from orders.tests.conftest import balance
from tradehive.testing.processes import run_python

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ledger_clean")]

D = Decimal


@pytest.fixture
def five_followers(settings, lpj_krw, make_user, make_leader, follow, settle):
    """A maker's asks at 1,000, a leader with five followers (a tenth of the leader's equity
    each, so a leader buy of 50 is a copy of 5 each) and parts of two followers."""
    settings.COPY_MIRROR_CHUNK = 2
    maker = make_user(LPJ="100")
    order_place(
        user=maker, symbol="LPJ-KRW", side="sell", type="limit", quantity=D(100), price=D(1000)
    )
    settle(lpj_krw)
    leader_user, _ = make_leader(KRW="1000000")
    subs = [follow(leader_user, "100000")[1] for _ in range(5)]
    return leader_user, subs


def leader_buy_settled_undispatched(leader_user, settle, pair) -> list[mirror.ChunkRef]:
    """The leader's buy of 50 settled with its dispatch going nowhere; the parts it named."""
    lost: list[list[mirror.ChunkRef]] = []
    working = mirror._dispatch
    mirror.dispatcher_set(lost.append)
    try:
        order_place(
            user=leader_user,
            symbol="LPJ-KRW",
            side="buy",
            type="limit",
            quantity=D(50),
            price=D(1000),
        )
        settle(pair)
    finally:
        mirror.dispatcher_set(working)
    assert len(lost) == 1
    return lost[0]


def copied(subs) -> dict[int, list[str]]:
    return {sub.pk: [c.status for c in CopyOrder.objects.filter(subscription=sub)] for sub in subs}


def assert_each_copied_once(subs, settle, pair) -> None:
    settle(pair)
    assert copied(subs) == {sub.pk: ["placed"] for sub in subs}
    for sub in subs:
        orders = list(Order.objects.filter(user=sub.account_user))
        assert [o.status for o in orders] == ["filled"]
        assert balance(sub.account_user, "LPJ") == (D(5), D(0))


def test_a_fill_is_split_into_parts_each_done_once(lpj_krw, settle, five_followers) -> None:
    leader_user, subs = five_followers
    # when the leader's fill settles, then its intent has three parts, all dispatched
    parts = leader_buy_settled_undispatched(leader_user, settle, lpj_krw)
    intent = CopyIntent.objects.get()
    assert intent.chunks == 3
    assert parts == [(intent.pk, 0), (intent.pk, 1), (intent.pk, 2)]
    # when part 1 is mirrored, then only its subscriptions are copied, and the intent waits
    assert mirror.chunk_mirror(intent_id=intent.pk, number=1) == 2
    ones = {sub.pk for sub in subs if sub.pk % 3 == 1}
    assert {pk for pk, statuses in copied(subs).items() if statuses} == ones
    intent.refresh_from_db()
    assert (intent.status, intent.chunks_done, intent.done_at) == ("pending", 1, None)
    # when part 1 is delivered again, then it copies nothing
    assert mirror.chunk_mirror(intent_id=intent.pk, number=1) == 0
    assert CopyOrder.objects.count() == 2
    # when the replay runs, then it mirrors the two parts left and the intent is done
    assert mirror.intents_replay(older_than_s=0) == 1
    intent.refresh_from_db()
    assert (intent.status, intent.chunks_done) == ("done", 3)
    assert intent.done_at is not None
    assert sorted(CopyChunk.objects.values_list("number", flat=True)) == [0, 1, 2]
    # then every part delivered again, and the replay, copy nothing more
    assert sum(mirror.chunk_mirror(intent_id=intent.pk, number=n) for n in range(3)) == 0
    assert mirror.intents_replay(older_than_s=0) == 0
    assert_each_copied_once(subs, settle, lpj_krw)


def test_a_part_out_of_range_copies_nothing(lpj_krw, settle, five_followers) -> None:
    leader_user, _ = five_followers
    leader_buy_settled_undispatched(leader_user, settle, lpj_krw)
    intent = CopyIntent.objects.get()
    assert mirror.chunk_mirror(intent_id=intent.pk, number=3) == 0
    assert not CopyChunk.objects.exists()


def test_a_follower_added_after_the_fill_is_copied_by_the_part_of_its_id(
    lpj_krw, settle, five_followers, follow
) -> None:
    # given the fill's parts were set with five followers
    leader_user, subs = five_followers
    leader_buy_settled_undispatched(leader_user, settle, lpj_krw)
    # when a sixth follows before the parts run, then the parts still cover everyone once
    subs.append(follow(leader_user, "100000")[1])
    assert mirror.intents_mirror(intent_ids=[CopyIntent.objects.get().pk]) == 6
    assert_each_copied_once(subs, settle, lpj_krw)


def test_worker_killed_between_parts(lpj_krw, settle, five_followers) -> None:
    leader_user, subs = five_followers
    leader_buy_settled_undispatched(leader_user, settle, lpj_krw)
    intent = CopyIntent.objects.get()
    # when a worker commits part 0, then is SIGKILLed in part 1 once its orders are written
    crashed = run_python(
        f"""
import os, signal
from copytrading import mirror
real, calls = mirror.orders_place_many, []
def orders_place_many(**kwargs):
    placed = real(**kwargs)
    calls.append(len(placed))
    if len(calls) == 2:  # part 1's orders written, part 0 committed
        os.kill(os.getpid(), signal.SIGKILL)
    return placed
mirror.orders_place_many = orders_place_many
mirror.intents_mirror(intent_ids=[{intent.pk}])
""",
        COPY_MIRROR_CHUNK="2",
    )
    assert crashed.returncode == -9, crashed.stderr.decode()
    # then part 0 stays done with its copies, and nothing of part 1 remains
    zeros = {sub.pk for sub in subs if sub.pk % 3 == 0}
    assert {pk for pk, statuses in copied(subs).items() if statuses} == zeros
    assert list(CopyChunk.objects.values_list("number", flat=True)) == [0]
    assert Order.objects.filter(copied_from__isnull=False).count() == len(zeros)
    for sub in subs:
        if sub.pk not in zeros:
            assert balance(sub.account_user, "KRW") == (D(100000), D(0))
    intent.refresh_from_db()
    assert (intent.status, intent.chunks_done) == ("pending", 1)
    # when the replay runs, then the parts left are mirrored and every follower copied once
    assert mirror.intents_replay(older_than_s=0) == 1
    assert CopyIntent.objects.get().status == "done"
    assert_each_copied_once(subs, settle, lpj_krw)
