"""The /api/v1/auth/ contract of API.md, through HTTP with real PostgreSQL and Redis."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the stubs' test response types exist only for type checking
    from rest_framework.response import _MonkeyPatchedResponse as ApiResponse

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.models import AuditEvent, User
from accounts.services import token_pair_issue
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a much longer new secret 42"


def _error_code(response) -> str:
    return response.json()["error"]["code"]


def _sign_in(client: APIClient, user: User, **extra: str) -> ApiResponse:
    return client.post(
        "/api/v1/auth/token",
        {"username": user.username, "password": DEFAULT_PASSWORD, **extra},
        format="json",
    )


# --- register -------------------------------------------------------------------------------


def test_register_creates_a_user_and_answers_201(api_client: APIClient) -> None:
    # given a new visitor
    body = {"username": "satoshi", "email": "Satoshi@Example.com", "password": NEW_PASSWORD}
    # when they register
    response = api_client.post("/api/v1/auth/register", body, format="json")
    # then the user exists, the email is normalised and no password is echoed
    assert response.status_code == 201
    data = response.json()
    assert data["username"] == "satoshi"
    assert data["handle"] == "satoshi"
    assert data["email"] == "satoshi@example.com"
    assert data["mfa_enabled"] is False
    assert data["date_joined"].endswith("Z")
    assert "password" not in data
    assert User.objects.get(username="satoshi").check_password(NEW_PASSWORD)


def test_register_refuses_taken_names_ignoring_case(api_client: APIClient) -> None:
    # given an existing user
    UserFactory.create(username="alice", email="alice@example.com")
    # when someone registers the same names in other case
    response = api_client.post(
        "/api/v1/auth/register",
        {
            "username": "ALICE",
            "email": "ALICE@example.com",
            "password": NEW_PASSWORD,
        },
        format="json",
    )
    # then both fields are refused
    assert response.status_code == 400
    assert _error_code(response) == "invalid_input"
    assert set(response.json()["error"]["fields"]) == {"username", "email", "handle"}


def test_register_refuses_a_weak_password_and_a_bad_username(api_client: APIClient) -> None:
    response = api_client.post(
        "/api/v1/auth/register",
        {
            "username": "a b",
            "email": "not-an-email",
            "password": "12345",
        },
        format="json",
    )
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert set(fields) == {"email"}  # input types first: the email is not an email
    response = api_client.post(
        "/api/v1/auth/register",
        {
            "username": "a b",
            "email": "ab@example.com",
            "password": "12345",
        },
        format="json",
    )
    assert set(response.json()["error"]["fields"]) >= {"username", "password"}


def test_register_is_rate_limited_per_address(api_client: APIClient, settings) -> None:
    # given the hourly limit is spent by one address
    from accounts import ratelimit

    for index in range(ratelimit.REGISTRATIONS_PER_IP_PER_HOUR):
        response = api_client.post(
            "/api/v1/auth/register",
            {
                "username": f"bulk{index}",
                "email": f"bulk{index}@example.com",
                "password": NEW_PASSWORD,
            },
            format="json",
        )
        assert response.status_code == 201
    # when it registers once more
    response = api_client.post(
        "/api/v1/auth/register",
        {
            "username": "onemore",
            "email": "onemore@example.com",
            "password": NEW_PASSWORD,
        },
        format="json",
    )
    # then 429 with Retry-After
    assert response.status_code == 429
    assert _error_code(response) == "rate_limited"
    assert int(response["Retry-After"]) > 0


# --- token, refresh, logout -----------------------------------------------------------------


def test_token_returns_a_pair_that_authenticates(api_client: APIClient, user: User) -> None:
    # when the user signs in
    response = _sign_in(api_client, user)
    # then the access token opens /me and the sign-in is audited
    assert response.status_code == 200
    tokens = response.json()
    assert set(tokens) == {"access", "refresh"}
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    me = api_client.get("/api/v1/auth/me")
    assert me.status_code == 200
    assert me.json()["username"] == user.username
    assert me.json()["last_login"] is not None
    assert AuditEvent.objects.filter(user=user, event="login.ok").count() == 1


def test_token_with_a_wrong_password_is_401_authentication_failed(
    api_client: APIClient,
    user: User,
) -> None:
    response = api_client.post(
        "/api/v1/auth/token", {"username": user.username, "password": "wrong"}, format="json"
    )
    assert response.status_code == 401
    assert _error_code(response) == "authentication_failed"
    assert AuditEvent.objects.filter(user=user, event="login.failed").exists()


@override_settings(LOGIN_FAILURES_PER_ACCOUNT=3)
def test_repeated_failures_lock_the_account_with_429(api_client: APIClient, user: User) -> None:
    # given three wrong passwords
    for _ in range(3):
        response = api_client.post(
            "/api/v1/auth/token", {"username": user.username, "password": "wrong"}, format="json"
        )
        assert response.status_code == 401
    # when the right password comes next
    response = _sign_in(api_client, user)
    # then the account is locked for the window, not opened
    assert response.status_code == 429
    assert _error_code(response) == "rate_limited"
    assert 0 < int(response["Retry-After"]) <= 900
    assert AuditEvent.objects.filter(event="login.locked").count() == 1


def test_a_bad_bearer_token_does_not_block_signing_in(api_client: APIClient, user: User) -> None:
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-jwt")
    assert _sign_in(api_client, user).status_code == 200


def test_refresh_rotates_and_the_old_refresh_is_blacklisted(
    api_client: APIClient,
    user: User,
) -> None:
    # given a signed-in client
    first = _sign_in(api_client, user).json()
    # when it refreshes
    response = api_client.post(
        "/api/v1/auth/token/refresh", {"refresh": first["refresh"]}, format="json"
    )
    # then it gets a new pair that works
    assert response.status_code == 200
    second = response.json()
    assert second["refresh"] != first["refresh"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {second['access']}")
    assert api_client.get("/api/v1/auth/me").status_code == 200
    # and the old refresh token no longer works
    again = api_client.post(
        "/api/v1/auth/token/refresh", {"refresh": first["refresh"]}, format="json"
    )
    assert again.status_code == 401
    assert _error_code(again) == "token_not_valid"


def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(
    api_client: APIClient,
    user: User,
) -> None:
    # given a refresh token that was rotated (say, stolen and used by an attacker first)
    stolen = _sign_in(api_client, user).json()["refresh"]
    rotated = api_client.post(
        "/api/v1/auth/token/refresh", {"refresh": stolen}, format="json"
    ).json()["refresh"]
    # when the old one is presented again
    response = api_client.post("/api/v1/auth/token/refresh", {"refresh": stolen}, format="json")
    # then it is refused, the newer token is revoked too, and the reuse is audited
    assert response.status_code == 401
    newer = api_client.post("/api/v1/auth/token/refresh", {"refresh": rotated}, format="json")
    assert newer.status_code == 401
    assert AuditEvent.objects.filter(user=user, event="token.refresh_reuse").exists()


def test_an_access_token_is_not_a_refresh_token(api_client: APIClient, user: User) -> None:
    access = token_pair_issue(user=user)["access"]
    response = api_client.post("/api/v1/auth/token/refresh", {"refresh": access}, format="json")
    assert response.status_code == 401
    assert _error_code(response) == "token_not_valid"


def test_logout_blacklists_the_refresh_token(api_client: APIClient, user: User) -> None:
    tokens = _sign_in(api_client, user).json()
    response = api_client.post("/api/v1/auth/logout", {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 205
    refresh = api_client.post(
        "/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json"
    )
    assert refresh.status_code == 401
    # logging out twice is harmless
    again = api_client.post("/api/v1/auth/logout", {"refresh": tokens["refresh"]}, format="json")
    assert again.status_code == 205


def test_tampered_access_token_is_token_not_valid(api_client: APIClient, user: User) -> None:
    access = token_pair_issue(user=user)["access"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access[:-2]}xx")
    response = api_client.get("/api/v1/auth/me")
    assert response.status_code == 401
    assert _error_code(response) == "token_not_valid"


def test_token_of_a_disabled_user_is_token_not_valid(api_client: APIClient, user: User) -> None:
    access = token_pair_issue(user=user)["access"]
    User.objects.filter(pk=user.pk).update(is_active=False)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    response = api_client.get("/api/v1/auth/me")
    assert response.status_code == 401
    assert _error_code(response) == "token_not_valid"


@pytest.mark.parametrize(
    "claim",
    ["999999999", "9999999999999999999", "12345678901234567890", "-1", "1 OR 1=1", "", None],
)
def test_a_signed_token_naming_no_user_is_token_not_valid(
    api_client: APIClient, user: User, claim: str | None
) -> None:
    # given an access token signed with our key whose user id names nobody (or is no id)
    from rest_framework_simplejwt.tokens import AccessToken

    token = AccessToken.for_user(user)
    token["user_id"] = claim
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    # when it is used
    response = api_client.get("/api/v1/auth/me")
    # then it is refused like any other token that does not work, never a 500
    assert response.status_code == 401
    assert _error_code(response) == "token_not_valid"


def test_me_without_credentials_is_401_not_authenticated(api_client: APIClient) -> None:
    response = api_client.get("/api/v1/auth/me")
    assert response.status_code == 401
    assert _error_code(response) == "not_authenticated"


# --- MFA ----------------------------------------------------------------------------------------


def test_mfa_setup_confirm_then_login_needs_the_code(
    api_client: APIClient,
    jwt_client: APIClient,
    user: User,
    otp_for,
) -> None:
    # given MFA set up and confirmed
    setup = jwt_client.post("/api/v1/auth/mfa/setup")
    assert setup.status_code == 200
    assert setup.json()["otpauth_url"].startswith("otpauth://totp/")
    assert setup.json()["qr_svg"].lstrip().startswith("<")
    assert jwt_client.get("/api/v1/auth/me").json()["mfa_enabled"] is False
    confirm = jwt_client.post("/api/v1/auth/mfa/confirm", {"otp": otp_for(user)}, format="json")
    assert confirm.status_code == 204
    assert jwt_client.get("/api/v1/auth/me").json()["mfa_enabled"] is True
    # when signing in without a code, then 401 mfa_required
    response = _sign_in(api_client, user)
    assert response.status_code == 401
    assert _error_code(response) == "mfa_required"
    # and with the code (the next step: a used code cannot be replayed), tokens
    response = _sign_in(api_client, user, otp=otp_for(user, 1))
    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}


def test_mfa_confirm_with_a_wrong_code_is_400_otp_invalid(jwt_client: APIClient) -> None:
    jwt_client.post("/api/v1/auth/mfa/setup")
    response = jwt_client.post("/api/v1/auth/mfa/confirm", {"otp": "000000"}, format="json")
    assert response.status_code == 400
    assert _error_code(response) == "otp_invalid"
    assert jwt_client.get("/api/v1/auth/me").json()["mfa_enabled"] is False


def test_mfa_confirm_without_setup_is_409(jwt_client: APIClient) -> None:
    response = jwt_client.post("/api/v1/auth/mfa/confirm", {"otp": "123456"}, format="json")
    assert response.status_code == 409
    assert _error_code(response) == "mfa_not_set_up"


def test_mfa_setup_when_already_on_is_409(jwt_client: APIClient, mfa_user: User) -> None:
    response = jwt_client.post("/api/v1/auth/mfa/setup")
    assert response.status_code == 409
    assert _error_code(response) == "mfa_already_enabled"


def test_mfa_disable_needs_a_valid_code(jwt_client: APIClient, mfa_user: User, otp_for) -> None:
    # a wrong code is refused and MFA stays on
    wrong = jwt_client.post("/api/v1/auth/mfa/disable", {"otp": "000000"}, format="json")
    assert wrong.status_code == 401
    assert _error_code(wrong) == "mfa_required"
    assert jwt_client.get("/api/v1/auth/me").json()["mfa_enabled"] is True


def test_mfa_disable_with_the_code_turns_it_off(
    jwt_client: APIClient,
    mfa_user: User,
    otp_for,
) -> None:
    response = jwt_client.post(
        "/api/v1/auth/mfa/disable", {"otp": otp_for(mfa_user)}, format="json"
    )
    assert response.status_code == 204
    assert jwt_client.get("/api/v1/auth/me").json()["mfa_enabled"] is False
    assert AuditEvent.objects.filter(user=mfa_user, event="mfa.disabled").exists()


# --- profile, password, deletion ----------------------------------------------------------------


def test_patch_me_changes_profile_fields(jwt_client: APIClient, user: User) -> None:
    response = jwt_client.patch(
        "/api/v1/auth/me", {"handle": "moonwalker", "first_name": "Ada"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["handle"] == "moonwalker"
    assert response.json()["first_name"] == "Ada"
    assert response.json()["email"] == user.email


def test_patch_me_refuses_a_handle_someone_has(jwt_client: APIClient) -> None:
    UserFactory.create(handle="whale")
    response = jwt_client.patch("/api/v1/auth/me", {"handle": "WHALE"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"handle": ["This handle is taken."]}


def test_password_change_revokes_tokens_and_sessions(
    api_client: APIClient,
    user: User,
    client,
) -> None:
    # given a REST client and a browser session of the same user
    tokens = _sign_in(api_client, user).json()
    client.force_login(user)
    assert client.get("/api/v1/auth/me").status_code == 200
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    # when the password is changed
    response = api_client.post(
        "/api/v1/auth/password",
        {"old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
        format="json",
    )
    # then the old refresh and access tokens and the browser session stop working
    assert response.status_code == 204
    fresh = APIClient()
    refresh = fresh.post(
        "/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json"
    )
    assert refresh.status_code == 401
    assert api_client.get("/api/v1/auth/me").status_code == 401
    assert client.get("/api/v1/auth/me").status_code in (401, 403)
    # and the new password signs in
    assert (
        fresh.post(
            "/api/v1/auth/token",
            {"username": user.username, "password": NEW_PASSWORD},
            format="json",
        ).status_code
        == 200
    )


def test_password_change_with_a_wrong_old_password_is_400(jwt_client: APIClient) -> None:
    response = jwt_client.post(
        "/api/v1/auth/password",
        {"old_password": "wrong", "new_password": NEW_PASSWORD},
        format="json",
    )
    assert response.status_code == 400
    assert "old_password" in response.json()["error"]["fields"]


def test_delete_me_closes_the_account(api_client: APIClient, user: User) -> None:
    # given a signed-in client
    tokens = _sign_in(api_client, user).json()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    # when the user deletes the account with the password
    response = api_client.delete("/api/v1/auth/me", {"password": DEFAULT_PASSWORD}, format="json")
    # then the account is closed: no sign-in, tokens dead, personal data gone
    assert response.status_code == 204
    user.refresh_from_db()
    assert user.is_active is False
    assert user.email.endswith("@closed.invalid")
    assert api_client.get("/api/v1/auth/me").status_code == 401
    assert (
        APIClient()
        .post("/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json")
        .status_code
        == 401
    )


def test_delete_me_needs_the_code_when_mfa_is_on(
    jwt_client: APIClient,
    mfa_user: User,
    otp_for,
) -> None:
    response = jwt_client.delete("/api/v1/auth/me", {"password": DEFAULT_PASSWORD}, format="json")
    assert response.status_code == 401
    assert _error_code(response) == "mfa_required"
    response = jwt_client.delete(
        "/api/v1/auth/me", {"password": DEFAULT_PASSWORD, "otp": otp_for(mfa_user)}, format="json"
    )
    assert response.status_code == 204


def test_delete_me_with_a_wrong_password_keeps_the_account(
    jwt_client: APIClient,
    user: User,
) -> None:
    response = jwt_client.delete("/api/v1/auth/me", {"password": "wrong"}, format="json")
    assert response.status_code == 400
    user.refresh_from_db()
    assert user.is_active is True
