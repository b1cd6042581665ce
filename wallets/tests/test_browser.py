"""The wallet page in headless Chromium at both window sizes, against the live stack: amounts a
person reads (the asset's decimals, thousands grouped), one rule for typed "1,000", labels that
name the right field, no internal references, and nothing out of reach on a phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.models import User
from tradehive.testing.browser import screenshot_save
from tradehive.testing.exchange import (
    LIVE_TIMEOUT_MS,
    SIZES,
    in_view,
    log_in,
    off_the_loop,
    page_width,
)
from wallets.models import Withdrawal
from wallets.tests.conftest import BTC_ADDRESS
from wallets.withdrawals import withdrawal_complete

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DUPLICATE_IDS = """() => {
  const ids = [...document.querySelectorAll("[id]")].map((e) => e.id);
  return ids.filter((id, i) => ids.indexOf(id) !== i);
}"""
# Every label's field, and the form each sits in: a label must name a field of its own form.
LABEL_TARGETS = """() => [...document.querySelectorAll("label[for]")].map((label) => {
  const field = document.getElementById(label.htmlFor);
  return [label.htmlFor, !!field && field.form === label.closest("form")];
})"""


@SIZES
def test_the_wallet_reads_as_money_and_every_label_names_its_own_field(
    page: Page, web_stack: str, web_user, size
) -> None:
    page.set_viewport_size(size)
    page.set_default_timeout(LIVE_TIMEOUT_MS)
    # given a user with 1 BTC on the wallet page
    saver = web_user("saver", BTC="1")
    log_in(page, web_stack, "saver", "/wallet/")

    # then no id is used twice and each label points at a field of its own form
    assert page.evaluate(DUPLICATE_IDS) == []
    assert all(inside for _, inside in page.evaluate(LABEL_TARGETS)), page.evaluate(LABEL_TARGETS)
    withdraw = page.locator("form", has=page.get_by_role("button", name="Request withdrawal"))
    expect(withdraw.get_by_label("Amount")).to_have_attribute("id", "withdraw-amount")

    # when 1,000 KRW is deposited, typed with a thousands separator as on the order form
    deposit = page.locator("form", has=page.get_by_role("button", name="Deposit"))
    deposit.get_by_label("Asset").select_option("KRW")
    deposit.get_by_label("Amount").fill("1,000")
    deposit.get_by_role("button", name="Deposit").click()
    # then it is credited and said as a person reads it
    expect(page.locator(".messages")).to_have_text("Deposited 1,000 KRW.")
    krw = page.locator("tbody tr", has=page.get_by_role("cell", name="KRW", exact=True)).first
    expect(krw).to_contain_text("1,000")

    # when 0.01 BTC is withdrawn twice and the exchange completes the first
    for _ in range(2):
        withdraw.get_by_label("Asset").select_option("BTC")
        withdraw.get_by_label("Amount").fill("0.01")
        withdraw.get_by_label("Address").fill(BTC_ADDRESS)
        withdraw.get_by_role("button", name="Request withdrawal").click()
        expect(page.locator(".messages")).to_contain_text("requested")
    first = Withdrawal.objects.filter(user=saver).order_by("id").first()
    assert first is not None
    admin = User.objects.create_superuser(username="ops", email="ops@example.com", password="x")
    off_the_loop(lambda: withdrawal_complete(withdrawal_id=first.pk, admin=admin))

    # then the notification says the amount at BTC's 8 decimals, not the column's 18
    bell = page.get_by_role("button", name=re.compile("^Notifications"))
    expect(page.locator("[data-notifications] [data-unread]")).to_have_text("1")
    bell.click()
    expect(page.locator("#notify-panel")).to_contain_text("Withdrawal of 0.01000000 BTC completed")
    page.keyboard.press("Escape")

    # and after a reload no amount shows 18 decimals and no row an internal reference
    page.reload()
    body = page.locator("main").inner_text()
    assert not re.search(r"\d\.\d{9,}", body), body
    assert not re.search(r"\b(order|deposit|withdrawal|trade):\S", body), body
    expect(page.locator("section", has_text="Ledger history")).to_contain_text("Withdrawal #")

    # and on either size the page never scrolls sideways; the pending one's Cancel is in reach
    assert page_width(page) <= size["width"]
    cancel = page.get_by_role("button", name=re.compile(r"^Cancel withdrawal #"))
    expect(cancel).to_have_count(1)
    cancel.scroll_into_view_if_needed()
    assert in_view(page, cancel), cancel.bounding_box()
    screenshot_save(page, f"wallet-{size['width']}")
    cancel.click()
    expect(page.locator(".messages")).to_contain_text("cancelled; funds released")
