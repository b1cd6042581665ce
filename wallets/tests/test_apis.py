"""REST: balances, ledger, deposits, withdrawals, cancel; the envelope on bad input."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import override_settings
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AuditEvent
from wallets.models import Asset, Balance, Deposit, JournalTransaction, Withdrawal
from wallets.services import wallet_account_get
from wallets.tests.conftest import BTC_ADDRESS
from wallets.tests.factories import UserFactory
from wallets.verification import ledger_verify
from wallets.withdrawals import withdrawal_complete

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_of(api_client, user):
    api_client.force_authenticate(user)
    return api_client


def _state() -> tuple:
    return (
        list(Balance.objects.order_by("pk").values_list("available", "locked")),
        JournalTransaction.objects.count(),
        Deposit.objects.count(),
        Withdrawal.objects.count(),
    )


def test_deposit_credits_at_once_and_shows_in_balances_and_ledger(assets, client_of):
    # when
    answer = client_of.post(
        "/api/v1/wallet/deposits", {"asset": "BTC", "amount": "0.5"}, format="json"
    )

    # then
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["asset"] == "BTC"
    assert body["amount"] == "0.50000000"
    assert body["status"] == "credited"
    assert body["created_at"].endswith("Z")
    balances = {row["asset"]: row for row in client_of.get("/api/v1/wallet/balances").json()}
    assert balances["BTC"] == {
        "asset": "BTC",
        "available": "0.50000000",
        "locked": "0.00000000",
        "total": "0.50000000",
    }
    assert balances["KRW"]["available"] == "0"
    ledger = client_of.get("/api/v1/wallet/ledger?asset=BTC").json()
    assert ledger["next"] is None
    [entry] = ledger["results"]
    assert entry["amount"] == "0.50000000"
    assert entry["kind"] == "deposit"
    assert entry["reference"] == f"deposit:{body['id']}"
    deposits = client_of.get("/api/v1/wallet/deposits").json()["results"]
    assert [d["id"] for d in deposits] == [body["id"]]


@pytest.mark.parametrize(
    ("body", "code", "status"),
    [
        ({"asset": "BTC", "amount": "-1"}, "invalid_input", 400),
        ({"asset": "BTC", "amount": "0"}, "invalid_input", 400),
        ({"asset": "BTC", "amount": "NaN"}, "invalid_input", 400),
        ({"asset": "BTC", "amount": "Infinity"}, "invalid_input", 400),
        ({"asset": "BTC", "amount": "1e3"}, "invalid_input", 400),
        ({"asset": "BTC", "amount": 1}, "invalid_input", 400),
        ({"asset": "BTC", "amount": "1" + "0" * 30}, "invalid_input", 400),
        ({"asset": "BTC", "amount": "0.000000001"}, "invalid_input", 400),
        ({"asset": "KRW", "amount": "1.5"}, "invalid_input", 400),
        ({"asset": "DOGE", "amount": "1"}, "unknown_asset", 400),
        ({"asset": "BTC", "amount": "11"}, "deposit_limit_exceeded", 400),
    ],
)
def test_bad_deposits_are_refused_with_the_envelope_and_change_nothing(
    assets, client_of, body, code, status
):
    # given
    before = _state()

    # when
    answer = client_of.post("/api/v1/wallet/deposits", body, format="json")

    # then
    assert answer.status_code == status
    assert answer.json()["error"]["code"] == code
    assert _state() == before


def test_daily_cap_counts_earlier_deposits_of_the_day(assets, client_of):
    # given
    assert (
        client_of.post(
            "/api/v1/wallet/deposits", {"asset": "BTC", "amount": "6"}, format="json"
        ).status_code
        == 201
    )

    # when
    answer = client_of.post(
        "/api/v1/wallet/deposits", {"asset": "BTC", "amount": "5"}, format="json"
    )

    # then
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "deposit_limit_exceeded"
    assert "amount" in answer.json()["error"]["fields"]
    assert (
        client_of.post(
            "/api/v1/wallet/deposits", {"asset": "BTC", "amount": "4"}, format="json"
        ).status_code
        == 201
    )


def test_disabled_and_inactive_assets(assets, client_of):
    # given
    Asset.objects.filter(symbol="ETH").update(deposit_enabled=False, withdrawal_enabled=False)
    Asset.objects.filter(symbol="XRP").update(is_active=False)

    # when
    eth_deposit = client_of.post(
        "/api/v1/wallet/deposits", {"asset": "ETH", "amount": "1"}, format="json"
    )
    eth_withdrawal = client_of.post(
        "/api/v1/wallet/withdrawals",
        {"asset": "ETH", "amount": "1", "address": "0x" + "a" * 40},
        format="json",
    )
    xrp = client_of.post("/api/v1/wallet/deposits", {"asset": "XRP", "amount": "1"}, format="json")

    # then
    assert (eth_deposit.status_code, eth_deposit.json()["error"]["code"]) == (
        403,
        "deposits_disabled",
    )
    assert (eth_withdrawal.status_code, eth_withdrawal.json()["error"]["code"]) == (
        403,
        "withdrawals_disabled",
    )
    assert xrp.json()["error"]["code"] == "unknown_asset"
    assert xrp.json()["error"]["fields"] == {"asset": ["Unknown or inactive asset 'XRP'."]}


@override_settings(WALLET_DEMO_DEPOSITS=False)
def test_deposits_off_outside_demo_mode(assets, client_of):
    # when
    answer = client_of.post(
        "/api/v1/wallet/deposits", {"asset": "BTC", "amount": "1"}, format="json"
    )

    # then
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "deposits_disabled"
    assert not Deposit.objects.exists()


def test_withdrawal_holds_amount_plus_fee_and_cancel_releases_it(assets, user, client_of, fund):
    # given
    fund(user, assets["BTC"], "1")

    # when
    answer = client_of.post(
        "/api/v1/wallet/withdrawals",
        {"asset": "BTC", "amount": "0.1", "address": BTC_ADDRESS},
        format="json",
    )

    # then
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["status"] == "pending"
    assert body["fee"] == "0.00050000"
    balances = {row["asset"]: row for row in client_of.get("/api/v1/wallet/balances").json()}
    assert balances["BTC"]["available"] == "0.89950000"
    assert balances["BTC"]["locked"] == "0.10050000"
    assert ledger_verify() == []
    assert AuditEvent.objects.filter(event="withdrawal.requested", user=user).exists()

    # when
    cancel = client_of.post(f"/api/v1/wallet/withdrawals/{body['id']}/cancel")

    # then
    assert cancel.status_code == 200
    assert cancel.json()["status"] == "cancelled"
    balance = Balance.objects.get(account__user=user, asset=assets["BTC"])
    assert (balance.available, balance.locked) == (Decimal(1), Decimal(0))
    assert ledger_verify() == []
    again = client_of.post(f"/api/v1/wallet/withdrawals/{body['id']}/cancel")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "withdrawal_not_pending")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"asset": "BTC", "amount": "0.1", "address": "not-an-address"}, "invalid_address"),
        ({"asset": "BTC", "amount": "0.0001", "address": BTC_ADDRESS}, "withdrawal_below_minimum"),
        ({"asset": "BTC", "amount": "5", "address": BTC_ADDRESS}, "insufficient_funds"),
        ({"asset": "BTC", "amount": "0.123456789", "address": BTC_ADDRESS}, "invalid_input"),
        ({"asset": "NOPE", "amount": "1", "address": BTC_ADDRESS}, "unknown_asset"),
        ({"asset": "BTC", "amount": 0.1, "address": BTC_ADDRESS}, "invalid_input"),
    ],
)
def test_bad_withdrawals_are_refused_and_change_nothing(assets, user, client_of, fund, body, code):
    # given
    fund(user, assets["BTC"], "1")
    before = _state()

    # when
    answer = client_of.post("/api/v1/wallet/withdrawals", body, format="json")

    # then
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == code
    assert _state() == before


def test_withdrawal_needs_a_valid_otp_when_mfa_is_on(assets, user, client_of, fund):
    # given
    fund(user, assets["BTC"], "1")
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    body = {"asset": "BTC", "amount": "0.1", "address": BTC_ADDRESS}

    # when
    missing = client_of.post("/api/v1/wallet/withdrawals", body, format="json")
    right = client_of.post(
        "/api/v1/wallet/withdrawals", {**body, "otp": f"{totp(device.bin_key):06d}"}, format="json"
    )
    # (after a wrong code django-otp throttles the device, so the wrong one goes last)
    wrong = client_of.post("/api/v1/wallet/withdrawals", {**body, "otp": "000000"}, format="json")

    # then
    assert (missing.status_code, missing.json()["error"]["code"]) == (401, "mfa_required")
    assert right.status_code == 201
    assert wrong.status_code == 401
    assert Withdrawal.objects.count() == 1


def test_withdrawal_with_wrong_codes_is_locked_out_even_for_the_right_code(
    assets, user, client_of, fund, settings
):
    # given an attacker with the user's access sending 50 withdrawals with wrong codes
    fund(user, assets["BTC"], "1")
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    body = {"asset": "BTC", "amount": "0.1", "address": BTC_ADDRESS}
    refused = [
        client_of.post(
            "/api/v1/wallet/withdrawals", {**body, "otp": "000000"}, format="json"
        ).status_code
        for _ in range(50)
    ]
    balances = _state()

    # when the right code follows
    answer = client_of.post(
        "/api/v1/wallet/withdrawals", {**body, "otp": f"{totp(device.bin_key):06d}"}, format="json"
    )

    # then 429 with Retry-After, no code was looked at past the limit, nothing moved
    assert answer.status_code == 429
    assert answer.json()["error"]["code"] == "rate_limited"
    assert int(answer["Retry-After"]) > 0
    assert sum(status != 429 for status in refused) <= settings.OTP_FAILURES_PER_USER
    assert _state() == balances
    assert not Withdrawal.objects.exists()


def test_cancel_of_another_users_withdrawal_is_404_and_of_a_completed_one_409(
    assets, user, client_of, fund, admin_user
):
    # given
    stranger = UserFactory.create()
    fund(stranger, assets["BTC"], "1")
    fund(user, assets["BTC"], "1")
    from wallets.withdrawals import withdrawal_request

    theirs = withdrawal_request(
        user=stranger, asset_symbol="BTC", amount=Decimal("0.1"), address=BTC_ADDRESS
    )
    mine = withdrawal_request(
        user=user, asset_symbol="BTC", amount=Decimal("0.1"), address=BTC_ADDRESS
    )
    withdrawal_complete(withdrawal_id=mine.pk, admin=admin_user, txid="0xabc1234567")

    # when
    other = client_of.post(f"/api/v1/wallet/withdrawals/{theirs.pk}/cancel")
    completed = client_of.post(f"/api/v1/wallet/withdrawals/{mine.pk}/cancel")

    # then
    assert (other.status_code, other.json()["error"]["code"]) == (404, "not_found")
    assert (completed.status_code, completed.json()["error"]["code"]) == (
        409,
        "withdrawal_not_pending",
    )
    theirs.refresh_from_db()
    assert theirs.status == "pending"
    assert [w["id"] for w in client_of.get("/api/v1/wallet/withdrawals").json()["results"]] == [
        mine.pk
    ]
    assert ledger_verify() == []


def test_ledger_is_cursor_paginated_newest_first(assets, user, client_of, fund):
    # given
    for _ in range(5):
        fund(user, assets["KRW"], "1000")

    # when
    first = client_of.get("/api/v1/wallet/ledger?limit=2").json()
    second = client_of.get(f"/api/v1/wallet/ledger?limit=2&cursor={first['next']}").json()

    # then
    ids = [e["id"] for e in first["results"] + second["results"]]
    assert ids == sorted(ids, reverse=True)
    assert len(set(ids)) == 4
    assert [e["balance_after"] for e in first["results"]] == ["5000", "4000"]
    unknown = client_of.get("/api/v1/wallet/ledger?asset=NOPE")
    assert unknown.json()["error"]["code"] == "unknown_asset"


def test_wallet_api_needs_authentication(api_client, db):
    # when
    answer = api_client.get("/api/v1/wallet/balances")

    # then
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "not_authenticated"


def test_a_new_account_starts_empty(assets, user, client_of):
    # given
    wallet_account_get(user=user)

    # when
    rows = client_of.get("/api/v1/wallet/balances").json()

    # then
    assert {row["asset"] for row in rows} == set(assets)
    assert all(Decimal(row["total"]) == 0 for row in rows)
