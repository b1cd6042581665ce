"""API keys: management over /api/v1/api-keys, and every way a signed request is refused."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from io import StringIO
from typing import Any
from urllib.parse import urlencode

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.test import Client, override_settings
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts.api_keys import api_key_create, api_key_revoke
from accounts.key_vault import secret_decrypt, vault_reset
from accounts.models import ApiKey, AuditEvent, User
from accounts.tests.conftest import code_for
from accounts.tests.factories import UserFactory
from accounts.tests.signed import SignedClient, signature

URL = "/api/v1/api-keys"
ARABIC_ONE = "\u0661"
ME = "/api/v1/wallet/balances"  # any read endpoint of a signed-in user


@pytest.fixture(autouse=True)
def _fresh_replay_memory(redis_client) -> None:
    """Used signatures are remembered in Redis; each test starts with none."""


@pytest.fixture
def keyed(user: User) -> tuple[ApiKey, str]:
    return api_key_create(user=user, label="bot", permissions=["read", "trade"])


def signed(keyed: tuple[ApiKey, str]) -> SignedClient:
    key, secret = keyed
    return SignedClient(key.key, secret)


def error_code(response) -> str:
    return response.json()["error"]["code"]


# --- management ------------------------------------------------------------------------------


def test_create_shows_the_secret_once_and_stores_it_encrypted(jwt_client: APIClient, user) -> None:
    response = jwt_client.post(URL, {"label": "grid bot", "permissions": ["trade"]}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert len(body["key"]) == 64
    assert len(body["secret"]) == 64
    assert body["permissions"] == ["read", "trade"]  # read is always granted
    row = ApiKey.objects.get(pk=body["id"])
    assert body["secret"] not in row.secret_encrypted
    assert secret_decrypt(row.secret_encrypted) == body["secret"]
    listed = jwt_client.get(URL).json()
    assert [k["id"] for k in listed] == [body["id"]]
    assert "secret" not in listed[0]
    assert body["secret"] not in json.dumps(listed)
    assert AuditEvent.objects.filter(event="api_key.created", user=user).count() == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"label": "", "permissions": ["read"]}, "label"),
        ({"label": "x" * 65, "permissions": ["read"]}, "label"),
        ({"label": "a\x07b", "permissions": ["read"]}, "label"),
        ({"label": "k", "permissions": ["admin"]}, "permissions"),
        ({"label": "k", "permissions": "read"}, "permissions"),
        ({"label": "k", "permissions": ["read"], "ip_allowlist": ["10.0.0.300"]}, "ip_allowlist"),
        ({"label": "k", "permissions": ["read"], "ip_allowlist": ["١٢٧.0.0.1"]}, "ip_allowlist"),
        ({"label": "k", "permissions": ["read"], "ip_allowlist": ["1.1.1.1"] * 31}, "ip_allowlist"),
        (
            {"label": "k", "permissions": ["read"], "expires_at": "2001-01-01T00:00:00Z"},
            "expires_at",
        ),
        ({"label": "k", "permissions": ["read"], "expires_at": "soon"}, "expires_at"),
        ({"label": "k", "permissions": ["withdraw"], "ip_allowlist": ["127.0.0.1"]}, None),
    ],
)
def test_bad_create_requests_are_refused_and_make_no_key(jwt_client, payload, field) -> None:
    response = jwt_client.post(URL, payload, format="json")
    assert response.status_code in (400, 409), response.content
    if field:
        fields = response.json()["error"]["fields"]
        assert any(name.split(".")[0] == field for name in fields), fields
    else:  # withdraw without MFA
        assert error_code(response) == "mfa_not_enabled"
    assert not ApiKey.objects.exists()


def test_withdraw_keys_need_mfa_the_code_and_an_allow_list(user, jwt_client) -> None:
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    body = {"label": "w", "permissions": ["withdraw"]}
    assert jwt_client.post(URL, body, format="json").json()["error"]["fields"]["ip_allowlist"]
    body["ip_allowlist"] = ["127.0.0.1", "10.0.0.0/8"]
    assert error_code(jwt_client.post(URL, body, format="json")) == "mfa_required"
    response = jwt_client.post(URL, {**body, "otp": code_for(device)}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["permissions"] == ["read", "withdraw"]
    assert response.json()["ip_allowlist"] == ["127.0.0.1", "10.0.0.0/8"]


def test_revoke_is_immediate_audited_and_404_for_other_users(user, jwt_client, keyed) -> None:
    key, _ = keyed
    assert signed(keyed).get(ME).status_code == 200
    other = UserFactory.create()
    other_client = APIClient()
    other_client.force_authenticate(other)
    assert other_client.delete(f"{URL}/{key.pk}").status_code == 404
    assert other_client.delete(f"{URL}/99999999999999999999").status_code == 404
    response = jwt_client.delete(f"{URL}/{key.pk}")
    assert response.status_code == 200
    assert response.json()["revoked_at"]
    assert error_code(signed(keyed).get(ME)) == "api_key_invalid"
    assert AuditEvent.objects.filter(event="api_key.revoked", user=user).count() == 1


def test_a_user_has_at_most_the_configured_number_of_keys(user, jwt_client) -> None:
    with override_settings(API_KEY_MAX_PER_USER=2):
        for _ in range(2):
            api_key_create(user=user, label="k", permissions=["read"])
        response = jwt_client.post(URL, {"label": "k", "permissions": ["read"]}, format="json")
        assert response.status_code == 409
        assert error_code(response) == "api_key_limit"


def test_keys_cannot_manage_keys_or_the_account(keyed) -> None:
    client = signed(keyed)
    for method, path in [
        ("GET", URL),
        ("GET", "/api/v1/auth/me"),
        ("POST", "/api/v1/auth/mfa/setup"),
    ]:
        response = client.request(method, path)
        assert response.status_code == 403, (path, response.content)
        assert error_code(response) == "api_key_permission"
    body = json.dumps({"label": "escalate", "permissions": ["withdraw"]})
    assert client.request("POST", URL, body=body).status_code == 403
    assert ApiKey.objects.count() == 1


# --- signed requests -------------------------------------------------------------------------


def test_a_signed_request_authenticates_and_records_its_use(keyed) -> None:
    key, _ = keyed
    response = signed(keyed).get(ME)
    assert response.status_code == 200, response.content
    key.refresh_from_db()
    assert key.last_used_at is not None
    assert key.last_used_ip == "127.0.0.1"


def test_read_keys_cannot_trade(user) -> None:
    read_only = api_key_create(user=user, label="r", permissions=["read"])
    body = json.dumps(
        {"symbol": "LPJ-KRW", "side": "buy", "type": "limit", "quantity": "1", "price": "1"}
    )
    response = signed(read_only).request("POST", "/api/v1/orders", body=body)
    assert response.status_code == 403
    assert error_code(response) == "api_key_permission"


def _raw(key: str, query: str) -> Any:
    return Client().get(f"{ME}?{query}", HTTP_X_MBX_APIKEY=key)


def now_ms() -> int:
    return int(time.time() * 1000)


def test_every_refusal_has_its_code(user, keyed) -> None:
    key, secret = keyed

    def sign(query: str, with_secret: str = secret) -> str:
        return f"{query}&signature={signature(with_secret, query)}"

    cases = [
        (sign(f"timestamp={now_ms()}", "wrong-secret"), 401, "signature_invalid"),
        (f"timestamp={now_ms()}", 401, "signature_invalid"),  # no signature
        (f"timestamp={now_ms()}&signature=zz&signature=zz", 401, "signature_invalid"),
        (sign("recvWindow=5000"), 401, "signature_invalid"),  # no timestamp
        (sign(f"timestamp={now_ms()}&timestamp={now_ms()}"), 401, "signature_invalid"),
        (sign("timestamp=-5"), 401, "signature_invalid"),
        (sign("timestamp=1e12"), 401, "signature_invalid"),
        (sign("timestamp=NaN"), 401, "signature_invalid"),
        (sign(f"timestamp={now_ms()}".replace("1", ARABIC_ONE)), 401, "signature_invalid"),
        (sign("timestamp=" + "9" * 40), 401, "signature_invalid"),
        (sign(f"timestamp={now_ms()}&recvWindow=60001"), 401, "signature_invalid"),
        (sign(f"timestamp={now_ms()}&recvWindow=0"), 401, "signature_invalid"),
        (sign(f"timestamp={now_ms() - 6000}"), 401, "timestamp_outside_window"),
        (sign(f"timestamp={now_ms() - 20000}&recvWindow=10000"), 401, "timestamp_outside_window"),
        (sign(f"timestamp={now_ms() + 5000}"), 401, "timestamp_outside_window"),
        (sign(f"timestamp={now_ms()}&x=%00"), 400, "invalid_input"),  # NULs: refused up front
    ]
    for query, status, code in cases:
        response = _raw(key.key, query)
        assert response.status_code == status, (query, response.content)
        if code:
            assert error_code(response) == code, (query, response.json())
    # a window the client widens is honoured, up to 60 s
    assert _raw(key.key, sign(f"timestamp={now_ms() - 20000}&recvWindow=30000")).status_code == 200


@pytest.mark.parametrize(
    "header", ["", "x" * 64 + "y", "short", "é" * 64, "A" * 64, "%00" + "A" * 61]
)
def test_unknown_or_malformed_keys(db, header) -> None:
    query = f"timestamp={now_ms()}&signature={'0' * 64}"
    response = Client().get(f"{ME}?{query}", HTTP_X_MBX_APIKEY=header)
    assert response.status_code == 401
    assert error_code(response) == "api_key_invalid"


def test_a_replayed_signature_is_refused(keyed) -> None:
    key, secret = keyed
    query = f"timestamp={now_ms()}&recvWindow=5000"
    query = f"{query}&signature={signature(secret, query)}"
    assert _raw(key.key, query).status_code == 200
    response = _raw(key.key, query)
    assert response.status_code == 401
    assert error_code(response) == "signature_replayed"


def test_expired_keys_disabled_users_and_other_addresses(user) -> None:
    soon = api_key_create(
        user=user, label="s", permissions=["read"], expires_at=timezone.now() + timedelta(hours=1)
    )
    assert signed(soon).get(ME).status_code == 200
    ApiKey.objects.filter(pk=soon[0].pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert error_code(signed(soon).get(ME)) == "api_key_invalid"

    elsewhere = api_key_create(
        user=user, label="ip", permissions=["read"], ip_allowlist=["10.1.0.0/16"]
    )
    response = signed(elsewhere).get(ME)
    assert response.status_code == 403
    assert error_code(response) == "api_key_ip_not_allowed"
    here = api_key_create(
        user=user, label="ip2", permissions=["read"], ip_allowlist=["127.0.0.0/8"]
    )
    assert signed(here).get(ME).status_code == 200

    live = api_key_create(user=user, label="l", permissions=["read"])
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert error_code(signed(live).get(ME)) == "api_key_invalid"


def test_the_json_body_is_signed_with_the_query_string(user) -> None:
    key, secret = api_key_create(user=user, label="b", permissions=["read", "trade"])
    body = json.dumps({"asset": "KRW", "amount": "1000"})
    query = urlencode({"timestamp": now_ms()})
    tampered = Client().post(
        f"/api/v1/wallet/deposits?{query}&signature={signature(secret, query + body)}",
        data=body.replace("1000", "9000"),
        content_type="application/json",
        HTTP_X_MBX_APIKEY=key.key,
    )
    assert tampered.status_code == 401
    assert error_code(tampered) == "signature_invalid"


def test_admin_revokes_and_secrets_rotate(user, keyed, client) -> None:
    key, secret = keyed
    admin = UserFactory.create(is_staff=True, is_superuser=True)
    client.force_login(admin)
    response = client.post(
        "/admin/accounts/apikey/",
        {"action": "revoke_keys", "_selected_action": [key.pk]},
    )
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    event = AuditEvent.objects.get(event="api_key.revoked")
    assert event.actor == admin
    assert event.user == user
    page = client.get(f"/admin/accounts/apikey/{key.pk}/change/")
    assert page.status_code == 200
    assert secret.encode() not in page.content

    under_derived_key = api_key_create(user=user, label="dev", permissions=["read"])
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    try:
        with override_settings(API_KEY_ENCRYPTION_KEYS=[old]):
            vault_reset()
            fresh_key, fresh_secret = api_key_create(user=user, label="rot", permissions=["read"])
        with override_settings(API_KEY_ENCRYPTION_KEYS=[new, old]):
            vault_reset()
            out = StringIO()
            call_command("rotate_api_key_secrets", stdout=out)  # old -> new; the rest unreadable
            assert "rotated 1 secret(s)" in out.getvalue()
        with override_settings(API_KEY_ENCRYPTION_KEYS=[new]):
            vault_reset()
            fresh_key.refresh_from_db()
            assert secret_decrypt(fresh_key.secret_encrypted) == fresh_secret
            assert SignedClient(fresh_key.key, fresh_secret).get(ME).status_code == 200
            # a key the vault can no longer read is refused, not a 500
            assert error_code(signed(under_derived_key).get(ME)) == "api_key_invalid"
    finally:
        vault_reset()


def test_admin_revoke_helper_is_idempotent(user, keyed) -> None:
    key, _ = keyed
    first = api_key_revoke(key_id=key.pk)
    assert api_key_revoke(key_id=key.pk).revoked_at == first.revoked_at
    assert AuditEvent.objects.filter(event="api_key.revoked").count() == 1
