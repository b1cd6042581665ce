"""Order placement's hot path: its query budget, concurrent holds, and halts that race it."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection, transaction

from accounts.services import user_create
from markets.errors import MarketCancelOnly, MarketHalted
from markets.services import pair_set_status, pair_update
from orders.errors import BelowMinNotional
from orders.models import Order, OrderOutbox
from orders.services import order_place
from orders.tests.conftest import balance
from tradehive.errors import DomainError
from wallets.errors import InsufficientFunds
from wallets.models import Asset, JournalTransaction, LedgerEntry
from wallets.services import wallet_account_get, wallet_hold

D = Decimal


@pytest.mark.django_db
def test_a_limit_order_is_one_statement_once_its_market_is_cached(
    lpj_krw, make_user, django_assert_num_queries
) -> None:
    # given a funded buyer and a market already read by this process
    buyer = make_user(KRW="100000")
    order_place(
        user=buyer, symbol="LPJ-KRW", side="buy", type="limit", quantity=D(1), price=D(1000)
    )
    # when a limit buy is placed (inside the test's transaction: one statement in a savepoint)
    with django_assert_num_queries(3) as captured:
        order = order_place(
            user=buyer, symbol="LPJ-KRW", side="buy", type="limit", quantity=D(2), price=D(1000)
        )
    assert captured.captured_queries[0]["sql"].startswith("SAVEPOINT")
    # then the order, its outbox row and its hold are written
    order.refresh_from_db()
    assert (order.status, order.held, order.hold_remaining) == ("pending", D(2004), D(2004))
    assert OrderOutbox.objects.filter(order=order).exists()
    journal = JournalTransaction.objects.get(reference=f"order:{order.pk}")
    assert journal.kind == "hold"
    assert list(
        LedgerEntry.objects.filter(journal=journal)
        .order_by("id")
        .values_list("bucket", "amount", "balance_after")
    ) == [("available", D(-2004), D(100000 - 1002 - 2004)), ("locked", D(2004), D(1002 + 2004))]
    assert balance(buyer, "KRW") == (D(100000 - 1002 - 2004), D(1002 + 2004))


@pytest.mark.django_db
def test_the_hold_is_written_like_ledger_posts(lpj_krw, make_user) -> None:
    # given two buyers with the same funds
    placing, posting = make_user(KRW="10000"), make_user(KRW="10000")
    # when one places an order and the other's same hold goes through ledger_post
    order = order_place(
        user=placing, symbol="LPJ-KRW", side="buy", type="limit", quantity=D(2), price=D(1000)
    )
    wallet_hold(
        account=wallet_account_get(user=posting),
        asset=Asset.objects.get(symbol="KRW"),
        amount=D(2004),
        reference="order:0",
    )

    # then both wrote the same journal and entries
    def written(user, reference):
        journal = JournalTransaction.objects.get(reference=reference)
        entries = LedgerEntry.objects.filter(journal=journal).order_by("id")
        return (
            journal.kind,
            journal.memo,
            [
                (e.account.user_id == user.pk, e.asset.symbol, e.bucket, e.amount, e.balance_after)
                for e in entries
            ],
        )

    assert written(placing, f"order:{order.pk}") == written(posting, "order:0")
    assert balance(placing, "KRW") == balance(posting, "KRW")


@pytest.mark.django_db
def test_new_market_terms_apply_to_the_next_order(lpj_krw, make_user) -> None:
    # given a market this process has cached
    buyer = make_user(KRW="100000")
    order_place(
        user=buyer, symbol="LPJ-KRW", side="buy", type="limit", quantity=D(1), price=D(1000)
    )
    # when an admin raises its minimum notional
    pair_update(pair=lpj_krw, actor=None, min_notional=D(5000))
    # then the next small order is refused on the new terms, and one above them goes in
    with pytest.raises(BelowMinNotional):
        order_place(
            user=buyer, symbol="LPJ-KRW", side="buy", type="limit", quantity=D(2), price=D(1000)
        )
    order = order_place(
        user=buyer, symbol="LPJ-KRW", side="buy", type="limit", quantity=D(5), price=D(1000)
    )
    assert order.held == D(5010)


@pytest.mark.django_db
def test_a_market_resumed_after_a_halt_takes_orders_again(lpj_krw, make_user) -> None:
    buyer = make_user(KRW="10000")
    pair_set_status(pair=lpj_krw, status="halted", actor=None)
    with pytest.raises(MarketHalted):
        order_place(
            user=buyer, symbol="LPJ-KRW", side="buy", type="limit", quantity=D(1), price=D(1000)
        )
    pair_set_status(pair=lpj_krw, status="active", actor=None)
    assert (
        order_place(
            user=buyer, symbol="LPJ-KRW", side="buy", type="limit", quantity=D(1), price=D(1000)
        ).status
        == "pending"
    )


@pytest.mark.django_db
def test_a_user_without_a_wallet_account_has_insufficient_funds(lpj_krw) -> None:
    user = user_create(
        username="nowallet", email="nowallet@example.com", password="a-long-test-password"
    )
    with pytest.raises(InsufficientFunds):
        order_place(
            user=user, symbol="LPJ-KRW", side="buy", type="limit", quantity=D(1), price=D(1000)
        )
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_the_returned_order_is_complete_without_a_reread(lpj_krw, make_user) -> None:
    # given
    seller = make_user(LPJ="5")
    # when
    order = order_place(
        user=seller,
        symbol="lpj-krw",
        side="sell",
        type="limit",
        quantity=D(5),
        price=D(1000),
        client_order_id="c-1",
    )
    # then what the API renders from the returned instance matches the stored row
    stored = Order.objects.select_related("pair").get(pk=order.pk)
    for name in (
        "client_order_id",
        "side",
        "type",
        "time_in_force",
        "post_only",
        "price",
        "quantity",
        "filled_quantity",
        "filled_quote",
        "fee_paid",
        "status",
        "cancel_reason",
        "held",
        "stp_mode",
        "created_at",
        "updated_at",
    ):
        assert getattr(order, name) == getattr(stored, name), name
    assert (order.pair.symbol, order.pair.base.decimals, order.pair.quote.decimals) == (
        "LPJ-KRW",
        4,
        0,
    )


@pytest.mark.django_db
def test_a_cancel_only_market_refuses_new_orders(lpj_krw, make_user) -> None:
    buyer = make_user(KRW="5000")
    pair_set_status(pair=lpj_krw, status="cancel_only", actor=None)
    with pytest.raises(MarketCancelOnly):
        order_place(
            user=buyer, symbol="LPJ-KRW", side="buy", type="limit", quantity=D(1), price=D(1000)
        )
    assert balance(buyer, "KRW") == (D(5000), D(0))


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("ledger_clean")
def test_concurrent_orders_never_hold_more_than_the_balance(lpj_krw, make_user) -> None:
    # given 10,000 KRW, enough for 4 buys of 2 @ 1000 (2,004 held each), not 5
    buyer = make_user(KRW="10000")
    barrier = threading.Barrier(12)

    def place() -> str:
        try:
            barrier.wait(timeout=30)
            order_place(
                user=buyer, symbol="LPJ-KRW", side="buy", type="limit", quantity=D(2), price=D(1000)
            )
            return "ok"
        except DomainError as exc:
            return exc.code
        finally:
            connection.close()

    # when 12 are placed at once
    with ThreadPoolExecutor(max_workers=12) as pool:
        outcomes = Counter(pool.map(lambda _: place(), range(12)))
    # then exactly 4 went through and nothing else moved
    assert outcomes == Counter({"ok": 4, "insufficient_funds": 8})
    assert Order.objects.count() == 4
    assert balance(buyer, "KRW") == (D(10000 - 4 * 2004), D(4 * 2004))


@pytest.mark.django_db(transaction=True)
def test_an_order_racing_a_halt_waits_for_it_and_is_refused(lpj_krw, make_user) -> None:
    # given an admin's halt that has locked the market but not yet committed
    buyer = make_user(KRW="5000")
    locked, release = threading.Event(), threading.Event()

    def halt() -> None:
        try:
            with transaction.atomic():
                pair_set_status(pair=lpj_krw, status="halted", actor=None)
                locked.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    halting = threading.Thread(target=halt)
    halting.start()
    assert locked.wait(timeout=30)
    # when an order comes in meanwhile (the halt commits a moment later)
    threading.Timer(0.2, release.set).start()
    with pytest.raises(MarketHalted):
        order_place(
            user=buyer, symbol="LPJ-KRW", side="buy", type="limit", quantity=D(1), price=D(1000)
        )
    halting.join(timeout=30)
    # then it waited for the halt, saw it, and moved no money
    assert not Order.objects.exists()
    assert balance(buyer, "KRW") == (D(5000), D(0))
