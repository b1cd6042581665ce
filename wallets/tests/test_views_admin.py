"""The wallet web page and the admin (withdrawal queue actions, adjustments, read-only)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AuditEvent
from wallets.models import Balance, Deposit, JournalTransaction, Withdrawal
from wallets.services import wallet_account_get
from wallets.tests.conftest import BTC_ADDRESS
from wallets.verification import ledger_verify
from wallets.withdrawals import withdrawal_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(client, user):
    client.force_login(user)
    return client


def test_wallet_page_needs_login(client, db):
    # when
    answer = client.get("/wallet/")

    # then
    assert answer.status_code == 302
    assert "/accounts/" in answer["Location"]


def test_wallet_page_shows_balances_forms_withdrawals_and_history(assets, user, browser, fund):
    # given
    fund(user, assets["BTC"], "1.25")
    withdrawal_request(user=user, asset_symbol="BTC", amount=Decimal("0.2"), address=BTC_ADDRESS)

    # when
    page = browser.get("/wallet/").content.decode()

    # then
    assert "1.04950000" in page  # available after the 0.2 + 0.0005 fee hold
    assert "0.20050000" in page  # locked
    assert 'action="/wallet/deposit"' in page
    assert 'action="/wallet/withdraw"' in page
    assert "pending" in page
    assert "Withdrawal #" in page  # ledger history, in words
    assert "withdrawal:" not in page  # never the internal reference
    assert 'name="otp"' not in page  # MFA is off


def test_deposit_form_credits_and_redirects(assets, user, browser):
    # when
    answer = browser.post("/wallet/deposit", {"asset": "KRW", "amount": "50000"})

    # then
    assert answer.status_code == 302
    balance = Balance.objects.get(account__user=user, asset=assets["KRW"])
    assert balance.available == Decimal(50000)
    assert "Deposited 50,000 KRW." in browser.get("/wallet/").content.decode()


@pytest.mark.parametrize(
    ("typed", "credited"), [("1,000", Decimal(1000)), ("12,345,678", Decimal(12345678))]
)
def test_the_deposit_form_reads_thousands_as_the_order_form_does(
    assets, user, browser, typed, credited
):
    # when an amount is typed with thousands grouped by commas
    answer = browser.post("/wallet/deposit", {"asset": "KRW", "amount": typed})

    # then it is that amount
    assert answer.status_code == 302
    assert Balance.objects.get(account__user=user, asset=assets["KRW"]).available == credited


@pytest.mark.parametrize("typed", ["1,00", "1,0000", ",100", "1000,", "1,000,00", "1.000,5"])
def test_irregular_commas_are_refused_not_guessed(assets, browser, typed):
    # when an amount with commas out of the thousands' places is typed
    answer = browser.post("/wallet/deposit", {"asset": "KRW", "amount": typed})

    # then it is refused next to the field and nothing is credited
    assert answer.status_code == 400
    assert 'id="deposit-amount-errors"' in answer.content.decode()
    assert not Deposit.objects.exists()


def test_the_two_forms_on_the_page_have_ids_of_their_own(assets, browser):
    # when the page is shown
    page = browser.get("/wallet/").content.decode()

    # then each field's id is its form's, and each label points at its own form's field
    for form in ("deposit", "withdraw"):
        for field in ("asset", "amount"):
            assert page.count(f'id="{form}-{field}"') == 1
            assert f'for="{form}-{field}"' in page
    assert 'id="id_amount"' not in page


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"asset": "KRW", "amount": "1.5"}, "At most 0 decimal places"),
        ({"asset": "KRW", "amount": "-3"}, "plain positive decimal"),
        ({"asset": "BTC", "amount": "10.5"}, "daily deposit limit"),
    ],
)
def test_deposit_form_shows_errors_next_to_the_field(assets, browser, form, message):
    # when
    answer = browser.post("/wallet/deposit", form)

    # then
    assert answer.status_code == 400
    page = answer.content.decode()
    assert 'id="deposit-amount-errors"' in page
    assert message in page
    assert not Deposit.objects.exists()


def test_withdrawal_form_with_otp_field_and_errors(assets, user, browser, fund):
    # given
    fund(user, assets["BTC"], "1")
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)

    # when
    page = browser.get("/wallet/").content.decode()
    answer = browser.post(
        "/wallet/withdraw", {"asset": "BTC", "amount": "0.1", "address": BTC_ADDRESS, "otp": ""}
    )
    bad_address = browser.post(
        "/wallet/withdraw", {"asset": "BTC", "amount": "0.1", "address": "nope", "otp": ""}
    )

    # then
    assert 'name="otp"' in page
    assert answer.status_code == 400
    assert 'id="withdraw-otp-errors"' in answer.content.decode()
    assert bad_address.status_code == 400
    assert not Withdrawal.objects.exists()


def test_withdrawal_form_is_locked_out_after_wrong_codes(assets, user, browser, fund, settings):
    # given 50 withdrawals posted with wrong codes
    fund(user, assets["BTC"], "1")
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    body = {"asset": "BTC", "amount": "0.1", "address": BTC_ADDRESS}
    refused = [
        browser.post("/wallet/withdraw", {**body, "otp": "000000"}).status_code for _ in range(50)
    ]

    # when the right code follows
    answer = browser.post("/wallet/withdraw", {**body, "otp": f"{totp(device.bin_key):06d}"})

    # then the form says to wait (429, Retry-After) and nothing is withdrawn
    assert answer.status_code == 429
    assert int(answer["Retry-After"]) > 0
    assert "Too many attempts; try again in " in answer.content.decode()
    assert sum(status != 429 for status in refused) <= settings.OTP_FAILURES_PER_USER
    assert not Withdrawal.objects.exists()


def test_withdrawal_form_and_cancel_button(assets, user, browser, fund):
    # given
    fund(user, assets["BTC"], "1")

    # when
    browser.post("/wallet/withdraw", {"asset": "BTC", "amount": "0.1", "address": BTC_ADDRESS})
    withdrawal = Withdrawal.objects.get()
    answer = browser.post(f"/wallet/withdrawals/{withdrawal.pk}/cancel")

    # then
    assert answer.status_code == 302
    withdrawal.refresh_from_db()
    assert withdrawal.status == "cancelled"
    assert Balance.objects.get(account__user=user, asset=assets["BTC"]).available == Decimal(1)
    assert ledger_verify() == []


def test_cancel_of_another_users_withdrawal_on_the_page_is_404(
    assets, user, other_user, browser, fund
):
    # given
    fund(other_user, assets["BTC"], "1")
    theirs = withdrawal_request(
        user=other_user, asset_symbol="BTC", amount=Decimal("0.1"), address=BTC_ADDRESS
    )

    # when
    answer = browser.post(f"/wallet/withdrawals/{theirs.pk}/cancel")

    # then
    assert answer.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "pending"


def test_admin_queue_lists_pending_and_complete_action_pays_out(
    assets, user, fund, admin_client, admin_user
):
    # given
    fund(user, assets["BTC"], "1")
    pending = withdrawal_request(
        user=user, asset_symbol="BTC", amount=Decimal("0.1"), address=BTC_ADDRESS
    )

    # when the admin picks it, is asked for the transaction id, and gives it
    queue = admin_client.get("/admin/wallets/withdrawal/")
    ask = admin_client.post(
        "/admin/wallets/withdrawal/",
        {"action": "complete_selected", "_selected_action": [pending.pk]},
    )
    without = admin_client.post(
        "/admin/wallets/withdrawal/",
        {"action": "complete_selected", "_selected_action": [pending.pk], "apply": "1"},
    )
    answer = admin_client.post(
        "/admin/wallets/withdrawal/",
        {
            "action": "complete_selected",
            "_selected_action": [pending.pk],
            "apply": "1",
            "txid": "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16",
        },
    )

    # then the queue shows amounts at BTC's 8 decimals, not the column's 18
    assert queue.status_code == 200
    assert BTC_ADDRESS in queue.content.decode()
    assert "0.10000000" in queue.content.decode()
    assert "0.100000000000000000" not in queue.content.decode()
    assert ask.status_code == 200  # the second step: what is the transaction id?
    assert "Transaction id" in ask.content.decode()
    assert without.status_code == 200  # asked again: it is required
    assert answer.status_code == 302
    pending.refresh_from_db()
    assert pending.status == "completed"
    assert pending.txid.startswith("f4184fc5")
    assert pending.decided_by == admin_user
    balance = Balance.objects.get(account__user=user, asset=assets["BTC"])
    assert (balance.available, balance.locked) == (Decimal("0.8995"), Decimal(0))
    fee = Balance.objects.get(account__kind="fee", asset=assets["BTC"])
    assert fee.available == Decimal("0.0005")
    assert AuditEvent.objects.filter(event="withdrawal.completed", actor=admin_user).exists()
    assert ledger_verify() == []


def test_admin_reject_releases_exactly_and_a_decided_one_cannot_be_decided_again(
    assets, user, fund, admin_client
):
    # given
    fund(user, assets["BTC"], "1")
    pending = withdrawal_request(
        user=user, asset_symbol="BTC", amount=Decimal("0.1"), address=BTC_ADDRESS
    )

    # when it is rejected with a reason, then completing it is tried
    admin_client.post(
        "/admin/wallets/withdrawal/",
        {
            "action": "reject_selected",
            "_selected_action": [pending.pk],
            "apply": "1",
            "reason": "The address is on a sanctions list.",
        },
    )
    again = admin_client.post(
        "/admin/wallets/withdrawal/?status=all",
        {
            "action": "complete_selected",
            "_selected_action": [pending.pk],
            "apply": "1",
            "txid": "0xabc1234567",
        },
        follow=True,
    )

    # then it stays rejected with the reason, and the second decision is refused
    assert "This withdrawal is rejected." in again.content.decode()
    pending.refresh_from_db()
    assert pending.status == "rejected"
    assert pending.reason == "The address is on a sanctions list."
    balance = Balance.objects.get(account__user=user, asset=assets["BTC"])
    assert (balance.available, balance.locked) == (Decimal(1), Decimal(0))
    assert AuditEvent.objects.filter(event="withdrawal.rejected").count() == 1
    assert ledger_verify() == []


def test_admin_adjustment_posts_an_audited_journal(assets, user, admin_client, admin_user):
    # given
    account = wallet_account_get(user=user)

    # when
    page = admin_client.get(f"/admin/wallets/account/{account.pk}/adjust/")
    answer = admin_client.post(
        f"/admin/wallets/account/{account.pk}/adjust/",
        {
            "asset": assets["KRW"].pk,
            "direction": "credit",
            "amount": "7000",
            "reason": "compensation for ticket 42",
        },
    )
    too_much = admin_client.post(
        f"/admin/wallets/account/{account.pk}/adjust/",
        {"asset": assets["KRW"].pk, "direction": "debit", "amount": "7001", "reason": "oops"},
    )

    # then
    assert page.status_code == 200
    assert answer.status_code == 302
    assert too_much.status_code == 200
    journal = JournalTransaction.objects.get(kind="adjustment")
    assert journal.memo == "compensation for ticket 42"
    assert Balance.objects.get(account=account, asset=assets["KRW"]).available == Decimal(7000)
    event = AuditEvent.objects.get(event="wallet.adjustment")
    assert event.actor == admin_user
    assert event.details["reason"] == "compensation for ticket 42"
    assert ledger_verify() == []


def test_money_rows_are_read_only_in_admin(assets, user, fund, admin_client):
    # given
    account = fund(user, assets["KRW"], "10")
    balance = Balance.objects.get(account=account)

    # when / then
    for url in (
        "/admin/wallets/balance/",
        "/admin/wallets/ledgerentry/",
        "/admin/wallets/journaltransaction/",
        "/admin/wallets/account/",
        f"/admin/wallets/balance/{balance.pk}/change/",
        "/admin/wallets/asset/",
    ):
        assert admin_client.get(url).status_code == 200, url
    assert admin_client.get("/admin/wallets/balance/add/").status_code == 403
    assert (
        admin_client.post(
            f"/admin/wallets/balance/{balance.pk}/change/", {"available": "999"}
        ).status_code
        == 403
    )
    assert admin_client.get("/admin/wallets/asset/add/").status_code == 200
