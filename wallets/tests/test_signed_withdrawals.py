"""Withdrawals requested with a signed API key: only withdraw keys, no code asked, audited."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.api_keys import api_key_create
from accounts.models import AuditEvent
from accounts.tests.signed import SignedClient
from wallets.models import Balance, Withdrawal
from wallets.tests.conftest import BTC_ADDRESS
from wallets.verification import ledger_verify

URL = "/api/v1/wallet/withdrawals"


@pytest.fixture(autouse=True)
def _fresh_replay_memory(redis_client) -> None:
    """Used signatures are remembered in Redis; each test starts with none."""


def test_a_withdraw_key_withdraws_without_a_code_and_is_audited(assets, user, fund) -> None:
    fund(user, assets["BTC"], "1")
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    key, secret = api_key_create(
        user=user,
        label="treasury",
        permissions=["withdraw"],
        ip_allowlist=["127.0.0.1"],
        otp=f"{totp(device.bin_key):06d}",
    )
    body = json.dumps({"asset": "BTC", "amount": "0.1", "address": BTC_ADDRESS})
    answer = SignedClient(key.key, secret).request("POST", URL, body=body)
    assert answer.status_code == 201, answer.content
    used = AuditEvent.objects.get(event="api_key.withdraw")
    assert used.details["api_key_id"] == key.pk
    assert used.details["withdrawal_id"] == answer.json()["id"]
    balance = Balance.objects.get(account__user=user, asset=assets["BTC"])
    assert balance.locked == Decimal("0.1005")
    assert ledger_verify() == []


def test_a_trade_key_cannot_withdraw_or_cancel_withdrawals(assets, user, fund) -> None:
    fund(user, assets["BTC"], "1")
    key, secret = api_key_create(user=user, label="bot", permissions=["read", "trade"])
    client = SignedClient(key.key, secret)
    body = json.dumps({"asset": "BTC", "amount": "0.1", "address": BTC_ADDRESS})
    refused = client.request("POST", URL, body=body)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "api_key_permission"
    assert not Withdrawal.objects.exists()
    assert client.get(URL).status_code == 200  # reading the history needs only read
    assert client.request("POST", f"{URL}/1/cancel").status_code == 403
