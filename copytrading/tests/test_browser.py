"""Copy trading in headless Chromium (live server): leading from the copy page, subscribing
from a trader's public profile, the copy's results and copies, and stopping it."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from accounts.models import User
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from copytrading.models import Subscription
from orders.services import order_place
from tradehive.testing.exchange import off_the_loop
from wallets.models import Asset
from wallets.services import wallet_account_get, wallet_credit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

D = Decimal


def funded(handle: str, **funds: str) -> User:
    user = UserFactory.create(username=handle, handle=handle)
    for symbol, amount in funds.items():
        wallet_credit(
            account=wallet_account_get(user=user),
            asset=Asset.objects.get(symbol=symbol),
            amount=D(amount),
            reference="test",
        )
    return user


def log_in(page: Page, base: str, username: str, next_path: str) -> None:
    page.goto(f"{base}/accounts/login/?next={next_path}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_lead_then_be_copied_from_the_profile(
    page: Page,
    live_server: LiveServer,
    screenshot: Callable[[str], Path],
    lpj_krw,
    settle,
) -> None:
    base = live_server.url
    # given a trader who shows in the rankings, and a maker's asks at 1,000
    leader = funded("lena", KRW="1000000")
    User.objects.filter(pk=leader.pk).update(rankings_opt_in=True)
    maker = funded("maker", LPJ="1000")

    def rest_asks() -> None:
        order_place(
            user=maker, symbol="LPJ-KRW", side="sell", type="limit", quantity=D(1000), price=D(1000)
        )
        settle(lpj_krw)

    off_the_loop(rest_asks)
    # when she starts leading from the copy trading page at a 12 % profit share
    log_in(page, base, "lena", "/copy/")
    lead = page.locator("[data-lead]")
    lead.get_by_label("Profit share (%)").fill("12")
    lead.get_by_label("Minimum copy amount").fill("10000")
    lead.get_by_role("button", name="Start leading").click()
    # then she leads, with no follower yet
    expect(page.locator(".messages")).to_contain_text("You are leading")
    expect(page.locator("[data-lead-stats]")).to_contain_text("0 followers")
    page.context.clear_cookies()

    # when a follower opens her public profile and copies her with 100,000 KRW
    funded("finn", KRW="150000")
    log_in(page, base, "finn", "/traders/lena")
    terms = page.locator("[data-copy-terms]")
    expect(terms).to_contain_text("Profit share 12% of new gains")
    terms.get_by_role("link", name="Copy lena").click()
    page.get_by_label("Amount to allocate").fill("100000")
    page.get_by_label("Stop-loss: stop when down by (%, optional)").fill("20")
    screenshot("copy-follow")
    page.get_by_role("button", name="Start copying").click()
    # then the copy's page shows the allocation
    expect(page.get_by_role("heading", name="Copy of lena")).to_be_visible()
    expect(page.locator("[data-status]")).to_contain_text("active")
    expect(page.locator("[data-value]")).to_have_text("100,000")

    # when the leader buys 100 LPJ (10 % of her equity) and it settles
    def leader_buys() -> None:
        order_place(
            user=leader, symbol="LPJ-KRW", side="buy", type="limit", quantity=D(100), price=D(1000)
        )
        settle(lpj_krw)  # her fill, and the copies it makes
        settle(lpj_krw)  # the copies' fills

    off_the_loop(leader_buys)
    page.reload()
    # then the follower's copy bought 10 LPJ (10 % of 100,000 KRW), filled at her price
    copies = page.locator("[data-copies] tbody tr")
    expect(copies).to_have_count(1)
    expect(copies.first).to_contain_text("filled")
    expect(copies.first).to_contain_text("10")
    screenshot("copy-subscription")
    # and the copy page lists it with its results
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Copy trading").click()
    row = page.locator("[data-my-copies] tbody tr")
    expect(row).to_have_count(1)
    expect(row.first).to_contain_text("lena")
    expect(row.first).to_contain_text("1 placed")

    # when the follower pauses, then stops the copy
    row.first.get_by_role("link", name="Details").click()
    page.get_by_role("button", name="Pause").click()
    expect(page.locator(".messages")).to_contain_text("Copy paused")
    page.get_by_role("button", name="Stop copying").click()
    expect(page.locator(".messages")).to_contain_text("Copy stopped")
    sub = Subscription.objects.get()
    assert sub.status in ("closing", "stopped")

    # and the leader sees her follower on her copy page
    page.context.clear_cookies()
    log_in(page, base, "lena", "/copy/")
    expect(page.locator("[data-lead-stats]")).to_contain_text("You lead")
    screenshot("copy-lead")
