"""The wallet page in headless Chromium at both window sizes, against the live stack: amounts a
person reads (the asset's decimals, thousands grouped), one rule for typed "1,000", labels that
name the right field, no internal references, and nothing out of reach on a phone."""

from __future__ import annotations

import re
from decimal import Decimal

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
from wallets.deposits import deposit_create
from wallets.models import Withdrawal
from wallets.tests.conftest import BTC_ADDRESS
from wallets.withdrawals import withdrawal_complete, withdrawal_reject

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
    off_the_loop(
        lambda: withdrawal_complete(withdrawal_id=first.pk, admin=admin, txid="0xfeed0001")
    )

    # then the notification says the amount at BTC's 8 decimals, not the column's 18
    bell = page.get_by_role("button", name=re.compile("^Notifications"))
    expect(page.locator("[data-notifications] [data-unread]")).to_have_text("1")
    bell.click()
    expect(page.locator("#notify-panel")).to_contain_text(
        "Withdrawal of 0.01000000 BTC completed: transaction 0xfeed0001"
    )
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
    # and cancelling asks first
    dialog = page.get_by_role("dialog", name=re.compile(r"^Cancel withdrawal #"))
    expect(dialog).to_contain_text("0.01000000 BTC and its fee go back to your available balance.")
    dialog.get_by_role("button", name="Cancel the withdrawal").click()
    expect(page.locator(".messages")).to_contain_text("cancelled; funds released")


@SIZES
def test_the_withdrawal_form_says_fee_minimum_and_format_and_statuses_come_live(
    page: Page, web_stack: str, web_user, size
) -> None:
    page.set_viewport_size(size)
    page.set_default_timeout(LIVE_TIMEOUT_MS)
    # given a user with 1 BTC on the wallet page, live
    saver = web_user("sender", BTC="1")
    log_in(page, web_stack, "sender", "/wallet/")
    expect(page.locator("body")).to_have_attribute("data-live", "live")
    withdraw = page.locator("form", has=page.get_by_role("button", name="Request withdrawal"))

    # when BTC is chosen, then the form says its fee, minimum, most and address format
    withdraw.get_by_label("Asset").select_option("BTC")
    expect(page.locator("#withdraw-amount-help")).to_have_text(
        "Fee 0.0005 BTC, minimum 0.001 BTC. The fee is added to the amount; you can withdraw "
        "up to 0.99950000 BTC."
    )
    expect(page.locator("#withdraw-address-help")).to_have_text(
        "BTC address: Starts with bc1, 1 or 3."
    )
    expect(withdraw.get_by_label("Amount")).to_have_attribute(
        "aria-describedby", "withdraw-amount-help"
    )
    # and Max fills in the most
    withdraw.get_by_role("button", name="Max: withdraw the most, 0.99950000 BTC").click()
    expect(withdraw.get_by_label("Amount")).to_have_value("0.99950000")

    # when two withdrawals of 0.3 BTC are requested
    for _ in range(2):
        withdraw.get_by_label("Asset").select_option("BTC")
        withdraw.get_by_label("Amount").fill("0.3")
        withdraw.get_by_label("Address").fill(BTC_ADDRESS)
        withdraw.get_by_role("button", name="Request withdrawal").click()
        expect(page.locator(".messages")).to_contain_text("0.30000000 BTC requested")
    sent, refused = Withdrawal.objects.filter(user=saver).order_by("id")
    admin = User.objects.create_superuser(username="ops", email="ops@example.com", password="x")
    rows = page.locator("[data-withdrawal]")

    # when the exchange sends one and rejects the other, the page shows both without a reload
    off_the_loop(lambda: withdrawal_complete(withdrawal_id=sent.pk, admin=admin, txid="0xfeed0002"))
    sent_row = page.locator(f'[data-withdrawal="{sent.pk}"]')
    expect(sent_row).to_contain_text("Completed")
    expect(sent_row).to_contain_text("transaction 0xfeed0002")
    off_the_loop(
        lambda: withdrawal_reject(
            withdrawal_id=refused.pk, admin=admin, reason="The address is on a sanctions list."
        )
    )
    refused_row = page.locator(f'[data-withdrawal="{refused.pk}"]')
    expect(refused_row).to_contain_text("Rejected")
    expect(refused_row).to_contain_text("The address is on a sanctions list.")
    expect(rows).to_have_count(2)
    # and the balance followed: 1 - 0.3 - 0.0005 fee, nothing locked
    btc = page.locator('[data-asset="BTC"]')
    expect(btc).to_contain_text("0.69950000")

    # when a deposit is made from another device (the API), it appears live too
    off_the_loop(lambda: deposit_create(user=saver, asset_symbol="KRW", amount=Decimal(25000)))
    expect(page.locator("[data-deposit]").first).to_contain_text("25,000")
    expect(page.locator("[data-deposit]").first).to_contain_text("Credited")
    expect(page.locator('[data-asset="KRW"]')).to_contain_text("25,000")
    assert page_width(page) <= size["width"]
    screenshot_save(page, f"wallet-live-{size['width']}")
