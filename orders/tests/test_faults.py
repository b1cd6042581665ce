"""Crashes and losses: every acknowledged order and every fill survives, applied exactly once."""

from __future__ import annotations

import signal
from decimal import Decimal

import pytest
from django.db import IntegrityError
from django.utils import timezone

from engine.events import parse_entry
from engine.keys import events_key
from engine.runtime import get_engine
from markets.models import Trade
from orders.models import Fill, Order, OrderOutbox
from orders.relay import outbox_relay
from orders.services import order_place
from orders.tests.conftest import balance
from settlement.models import MarketCursor
from settlement.services import settle_events
from tradehive.redis_client import get_redis
from tradehive.testing.processes import run_python, start_manage, stop, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ledger_clean")]

D = Decimal


def place(user, side, quantity, price):
    return order_place(
        user=user, symbol="LPJ-KRW", side=side, type="limit", quantity=D(quantity), price=D(price)
    )


def test_redelivered_events_are_applied_once(lpj_krw, make_user, settle) -> None:
    # given a settled cross
    place(make_user(LPJ="5"), "sell", "5", "1000")
    buyer = make_user(KRW="10000")
    place(buyer, "buy", "5", "1000")
    settle(lpj_krw)
    # when every event of the stream is delivered again (a crash after commit, before XACK)
    entries = get_redis().xrange(events_key("LPJ-KRW"))
    events = [event for _, fields in entries for event in parse_entry(fields)]
    outcome = settle_events(pair=lpj_krw, events=events)
    # then nothing more happens
    assert outcome.applied == 0
    assert Fill.objects.count() == 2
    assert balance(buyer, "LPJ") == (D(5), D(0))


def test_a_write_refused_mid_batch_rolls_the_whole_batch_back(lpj_krw, make_user, settle) -> None:
    # given a resting sell and a crossing buy whose events wait in the stream, and a public
    # trade row already holding the sequence the fill will have (so the batch's trade insert,
    # sent in pipeline mode with the statements after it, is refused by the database)
    seller = make_user(LPJ="5")
    place(seller, "sell", "5", "1000")
    settle(lpj_krw)
    buyer = make_user(KRW="10000")
    place(buyer, "buy", "5", "1000")
    entries = get_redis().xrange(events_key("LPJ-KRW"))
    events = [event for _, fields in entries for event in parse_entry(fields)]
    fill_seq = next(e.seq for e in events if type(e).__name__ == "Fill")
    squatter = Trade.objects.create(
        pair=lpj_krw,
        sequence=fill_seq,
        price=D(1),
        quantity=D(1),
        quote_quantity=D(1),
        taker_side="buy",
        created_at=timezone.now(),
    )
    cursor_before = MarketCursor.objects.get(pair=lpj_krw).last_seq
    # when the batch is settled, it fails with Django's own exception
    with pytest.raises(IntegrityError):
        settle_events(pair=lpj_krw, events=events)
    # then nothing of it was written: no fill, no money moved, the cursor did not advance
    assert Fill.objects.count() == 0
    assert balance(buyer, "KRW") == (D(10000 - 5010), D(5010))
    assert balance(seller, "LPJ") == (D(0), D(5))
    assert MarketCursor.objects.get(pair=lpj_krw).last_seq == cursor_before
    # and once the conflict is gone the same events apply exactly once
    squatter.delete()
    assert settle_events(pair=lpj_krw, events=events).fills == 1
    assert Fill.objects.count() == 2
    assert balance(buyer, "LPJ") == (D(5), D(0))


@pytest.mark.integration
def test_settlement_killed_mid_batch_then_restarted_applies_every_fill_once(
    lpj_krw, make_user
) -> None:
    # given 20 crossing pairs whose events (100) wait in the stream
    sellers = [make_user(LPJ="1") for _ in range(20)]
    buyers = [make_user(KRW="10000") for _ in range(20)]
    for seller, buyer in zip(sellers, buyers, strict=True):
        place(seller, "sell", "1", "1000")
        place(buyer, "buy", "1", "1000")
    pending = Order.objects.count()
    # when a settle process (batches of 1) is SIGKILLed while working, then started again
    first = start_manage("settle", "--batch", "1")
    wait_until(
        lambda: MarketCursor.objects.filter(pair=lpj_krw, last_seq__gt=3).exists(),
        what="the first settlements",
    )
    first.send_signal(signal.SIGKILL)
    first.wait()
    killed_at = MarketCursor.objects.get(pair=lpj_krw).last_seq
    second = start_manage("settle", "--batch", "7")
    try:
        last_seq = int(get_redis().get("seq:{LPJ-KRW}"))
        wait_until(
            lambda: MarketCursor.objects.get(pair=lpj_krw).last_seq == last_seq,
            what="settlement to catch up",
        )
    finally:
        output = stop(second)
    # then every fill is applied exactly once
    assert killed_at < last_seq, output
    trades = Trade.objects.filter(pair=lpj_krw).count()
    assert trades == 20
    assert Fill.objects.count() == 2 * trades
    assert Order.objects.count() == pending
    for buyer in buyers:
        assert balance(buyer, "LPJ") == (D(1), D(0))
        assert balance(buyer, "KRW") == (D(10000 - 1002), D(0))


def test_redis_flushed_while_orders_rest_is_rebuilt_from_postgres(
    lpj_krw, make_user, settle
) -> None:
    # given resting orders on both sides, one partly filled
    seller = make_user(LPJ="20")
    ask_a = place(seller, "sell", "5", "1010")
    ask_b = place(seller, "sell", "5", "1020")
    bid = place(make_user(KRW="50000"), "buy", "4", "990")
    place(make_user(KRW="50000"), "buy", "2", "1010")  # takes 2 of ask_a
    settle(lpj_krw)
    before = get_engine().snapshot("LPJ-KRW")
    # when Redis loses everything
    get_redis().flushdb()
    # and a crossing order arrives (its submission finds no engine state and recovers first)
    taker = make_user(KRW="50000")
    order = place(taker, "buy", "4", "1020")
    settle(lpj_krw)
    # then the book was rebuilt as it was: ask_a (3 left) then ask_b, and the bid
    after_orders = {o.pk: o for o in Order.objects.all()}
    ask_a.refresh_from_db()
    ask_b.refresh_from_db()
    order.refresh_from_db()
    assert [(r.order.order_id, r.remaining) for r in before.asks] == [
        (str(ask_a.pk), 3),
        (str(ask_b.pk), 5),
    ]
    assert (order.status, order.filled_quantity, order.filled_quote) == (
        "filled",
        D(4),
        D(3 * 1010 + 1 * 1020),
    )
    assert (ask_a.status, ask_a.filled_quantity) == ("filled", D(5))
    assert (ask_b.status, ask_b.filled_quantity) == ("partially_filled", D(1))
    snapshot = get_engine().snapshot("LPJ-KRW")
    assert [(r.order.order_id, r.remaining) for r in snapshot.bids] == [(str(bid.pk), 4)]
    assert [(r.order.order_id, r.remaining) for r in snapshot.asks] == [(str(ask_b.pk), 4)]
    assert len(after_orders) == 5


def test_web_process_dying_after_commit_before_submit_is_relayed(
    lpj_krw, make_user, settle
) -> None:
    # given a resting ask
    place(make_user(LPJ="5"), "sell", "5", "1000")
    settle(lpj_krw)
    buyer = make_user(KRW="10000")
    # when a process commits a crossing order and dies before its after-commit submit runs
    crashed = run_python(f"""
import os
from decimal import Decimal
from django.db import transaction
from accounts.models import User
from orders.services import order_place
with transaction.atomic():
    transaction.on_commit(lambda: os._exit(17))  # runs first: the process dies after commit
    order_place(user=User.objects.get(pk={buyer.pk}), symbol="LPJ-KRW", side="buy",
                type="limit", quantity=Decimal(5), price=Decimal(1000))
""")
    assert crashed.returncode == 17, crashed.stderr.decode()
    order = Order.objects.get(user=buyer)
    assert order.status == "pending"
    assert OrderOutbox.objects.filter(order=order).exists()
    settle(lpj_krw)
    assert Trade.objects.count() == 0  # the engine never saw it
    # then the relay (a beat task every second) submits it and it settles
    assert outbox_relay(older_than_s=0) == 1
    settle(lpj_krw)
    order.refresh_from_db()
    assert order.status == "filled"
    assert not OrderOutbox.objects.exists()
    assert balance(buyer, "LPJ") == (D(5), D(0))
