"""Crashes between a leader's fill and the followers' copies never lose a copy nor make two:
a settle process killed right after it committed the fill (the intent is in that commit), a
worker killed in the middle of mirroring (nothing of it committed), and one killed after the
copies committed but before they reached the engine (the orders' outbox)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from copytrading.mirror import intents_replay
from copytrading.models import CopyIntent, CopyOrder
from orders.models import Order, OrderOutbox
from orders.relay import outbox_relay
from orders.services import order_place
from orders.tests.conftest import balance
from tradehive.redis_client import get_redis
from tradehive.testing.processes import run_python

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ledger_clean")]

D = Decimal


@pytest.fixture
def leader_filled(lpj_krw, make_user, make_leader, follow):
    """Three followers (a tenth of the leader's equity each) and a leader buy of 50 LPJ at
    1,000 crossing an ask, placed but not yet settled."""
    maker = make_user(LPJ="100")
    order_place(
        user=maker, symbol="LPJ-KRW", side="sell", type="limit", quantity=D(100), price=D(1000)
    )
    leader_user, _ = make_leader(KRW="1000000")
    subs = [follow(leader_user, "100000")[1] for _ in range(3)]
    order_place(
        user=leader_user, symbol="LPJ-KRW", side="buy", type="limit", quantity=D(50), price=D(1000)
    )
    return subs


def assert_copied_once(subs, settle, pair) -> None:
    settle(pair)
    for sub in subs:
        copies = list(CopyOrder.objects.filter(subscription=sub))
        assert [c.status for c in copies] == ["placed"]
        orders = list(Order.objects.filter(user=sub.account_user))
        assert len(orders) == 1
        assert orders[0].status == "filled", (orders[0].status, orders[0].cancel_reason)
        assert balance(sub.account_user, "LPJ") == (D(5), D(0))


def test_settle_killed_after_committing_the_leaders_fill(lpj_krw, settle, leader_filled) -> None:
    # when a settle process commits the leader's fill and is SIGKILLed before dispatching
    crashed = run_python("""
import os, signal
from copytrading import mirror
from markets.models import TradingPair
from settlement.services import settle_market
mirror.dispatcher_set(lambda ids: os.kill(os.getpid(), signal.SIGKILL))
settle_market(pair=TradingPair.objects.get(symbol="LPJ-KRW"), consumer="doomed")
""")
    assert crashed.returncode == -9, crashed.stderr.decode()
    # the next settle takes over: the dead process's lease runs out, and the entries it never
    # acknowledged are claimed and skipped (their fill is already settled)
    get_redis().delete("settle-lease:{LPJ-KRW}")
    assert settle(lpj_krw) == 0
    # then the intent was committed with the fill, and nothing was copied yet
    assert CopyIntent.objects.get().status == "pending"
    assert not CopyOrder.objects.exists()
    # when the replay (beat) runs, then every follower is copied once
    assert intents_replay(older_than_s=0) == 1
    assert intents_replay(older_than_s=0) == 0
    assert_copied_once(leader_filled, settle, lpj_krw)


def test_worker_killed_while_mirroring(lpj_krw, settle, leader_filled) -> None:
    # given the leader's fill settled with its dispatch lost
    crashed = run_python("""
import os, signal
from copytrading import mirror
from markets.models import TradingPair
from settlement.services import settle_market
mirror.dispatcher_set(lambda ids: None)
settle_market(pair=TradingPair.objects.get(symbol="LPJ-KRW"), consumer="settler")
""")
    assert crashed.returncode == 0, crashed.stderr.decode()
    intent = CopyIntent.objects.get()
    # when a worker is SIGKILLed once it has written the copies, before its commit
    crashed = run_python(f"""
import os, signal
from copytrading import mirror
real = mirror.orders_place_many
def orders_place_many(**kwargs):
    placed = real(**kwargs)
    assert len(placed) == 3
    os.kill(os.getpid(), signal.SIGKILL)
mirror.orders_place_many = orders_place_many
mirror.intents_mirror(intent_ids=[{intent.pk}])
""")
    assert crashed.returncode == -9, crashed.stderr.decode()
    # then nothing of that transaction remains: no copy, no order, no hold
    assert not CopyOrder.objects.exists()
    assert not Order.objects.filter(copied_from__isnull=False).exists()
    for sub in leader_filled:
        assert balance(sub.account_user, "KRW") == (D(100000), D(0))
    # when the replay runs, then every follower is copied once
    assert intents_replay(older_than_s=0) == 1
    assert_copied_once(leader_filled, settle, lpj_krw)


def test_worker_killed_after_the_copies_committed(lpj_krw, settle, leader_filled) -> None:
    # given the leader's fill settled with its dispatch lost
    run_python("""
from copytrading import mirror
from markets.models import TradingPair
from settlement.services import settle_market
mirror.dispatcher_set(lambda ids: None)
settle_market(pair=TradingPair.objects.get(symbol="LPJ-KRW"), consumer="settler")
""")
    intent = CopyIntent.objects.get()
    # when a worker commits the copies and dies before they are sent to the engine
    crashed = run_python(f"""
import os
from django.db import transaction
from copytrading import mirror
with transaction.atomic():
    transaction.on_commit(lambda: os._exit(17))  # runs first: dies right after the commit
    mirror.intents_mirror(intent_ids=[{intent.pk}])
""")
    assert crashed.returncode == 17, crashed.stderr.decode()
    assert CopyIntent.objects.get().status == "done"
    assert OrderOutbox.objects.count() == 3
    # then the replay has nothing to do, and the orders' relay sends the copies on
    assert intents_replay(older_than_s=0) == 0
    assert outbox_relay(older_than_s=0) == 3
    assert_copied_once(leader_filled, settle, lpj_krw)
