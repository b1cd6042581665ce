"""``ledger_check`` reports holds that can never be released as errors."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from orders.models import Order, OrderStatus
from orders.quarantine import orders_stuck_quarantine
from orders.services import order_place
from orders.tests.test_poison import BEYOND, write_unchecked
from wallets.verification import ledger_verify

pytestmark = pytest.mark.django_db(transaction=True)

D = Decimal


def test_ledger_check_passes_with_healthy_orders(lpj_krw, make_user, settle, capsys) -> None:
    # given resting and filled orders
    seller, buyer = make_user(LPJ="5"), make_user(KRW="10000")
    order_place(
        user=seller, symbol="LPJ-KRW", side="sell", type="limit", quantity=D(5), price=D(1000)
    )
    order_place(
        user=buyer, symbol="LPJ-KRW", side="buy", type="limit", quantity=D(2), price=D(1000)
    )
    settle(lpj_krw)
    # when / then
    call_command("ledger_check")
    assert "ledger_check: OK" in capsys.readouterr().out


def test_a_pending_order_the_engine_cannot_take_fails_ledger_check(
    lpj_krw, make_user, capsys
) -> None:
    # given a stuck sell: its hold matches the order (the old check passed), yet nothing will
    # ever release it
    user = make_user(LPJ="3")
    stuck = write_unchecked(user, lpj_krw, side="sell", price=BEYOND, quantity=D(3))
    # when / then ledger_check fails and names the order
    with pytest.raises(CommandError):
        call_command("ledger_check")
    err = capsys.readouterr().err
    assert "[stuck_hold] LPJ" in err
    assert f"order {stuck.pk} is pending" in err
    # and after the repair it passes
    assert orders_stuck_quarantine() == [stuck.pk]
    call_command("ledger_check")
    assert "ledger_check: OK" in capsys.readouterr().out


def test_a_closed_order_still_holding_funds_fails_ledger_check(lpj_krw, make_user, settle) -> None:
    # given an order closed without its hold released (a settlement bug, or a hand edit)
    user = make_user(KRW="5000")
    order = order_place(
        user=user, symbol="LPJ-KRW", side="buy", type="limit", quantity=D(2), price=D(1000)
    )
    settle(lpj_krw)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.CANCELLED)
    # when
    problems = [p for p in ledger_verify() if p.check == "stuck_hold"]
    # then it is reported, in the asset it holds
    assert len(problems) == 1
    assert problems[0].asset == "KRW"
    assert f"order {order.pk} is cancelled but still holds" in problems[0].detail
