"""Web pages: sign up, log in (with MFA), log out, account page actions, admin actions."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the stubs' test response types exist only for type checking
    from django.test.client import _MonkeyPatchedWSGIResponse as PageResponse

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AuditEvent, User
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a much longer new secret 42"


def test_signup_creates_the_user_and_signs_in(client: Client) -> None:
    # when a visitor fills in the sign-up form
    response = client.post(
        "/accounts/signup/",
        {"username": "webtrader", "email": "web@example.com", "password": NEW_PASSWORD},
    )
    # then they are signed in and sent home
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/accounts/profile/").status_code == 200
    assert User.objects.filter(username="webtrader").exists()


def test_signup_shows_field_errors(client: Client) -> None:
    UserFactory.create(username="taken")
    response = client.post(
        "/accounts/signup/", {"username": "taken", "email": "x@example.com", "password": "short"}
    )
    assert response.status_code == 400
    assert b"This username is taken." in response.content
    assert b"This password is too short" in response.content


def test_login_page_signs_in_and_follows_a_local_next(client: Client, user: User) -> None:
    assert client.get("/accounts/login/").status_code == 200
    response = client.post(
        "/accounts/login/?next=/accounts/profile/",
        {"username": user.username, "password": DEFAULT_PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/profile/"


def test_login_ignores_a_next_pointing_elsewhere(client: Client, user: User) -> None:
    response = client.post(
        "/accounts/login/",
        {
            "username": user.username,
            "password": DEFAULT_PASSWORD,
            "next": "https://evil.example/steal",
        },
    )
    assert response["Location"] == "/"


def test_login_with_a_wrong_password_shows_the_error(client: Client, user: User) -> None:
    response = client.post("/accounts/login/", {"username": user.username, "password": "nope"})
    assert response.status_code == 401
    assert b"Wrong username or password." in response.content


def _password_step(client: Client, user: User, query: str = "") -> PageResponse:
    return client.post(
        f"/accounts/login/{query}", {"username": user.username, "password": DEFAULT_PASSWORD}
    )


def _signed_in(client: Client) -> bool:
    return client.get("/accounts/profile/").status_code == 200


def test_login_form_asks_only_for_username_and_password(client: Client) -> None:
    # when a visitor opens the login page
    page = client.get("/accounts/login/")
    # then there is no code field yet
    assert page.status_code == 200
    assert b'name="password"' in page.content
    assert b'name="otp"' not in page.content


def test_login_with_mfa_asks_for_the_code_at_a_second_step(
    client: Client, mfa_user: User, otp_for
) -> None:
    # when a user with MFA passes the password step
    response = _password_step(client, mfa_user, "?next=/accounts/profile/")
    # then they are sent to the code step, carrying next along, and not signed in yet
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/otp/?next=%2Faccounts%2Fprofile%2F"
    assert not _signed_in(client)
    assert not AuditEvent.objects.filter(user=mfa_user, event="login.ok").exists()
    # and the code step offers a one-time-code field
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert b'autocomplete="one-time-code"' in page.content
    assert b'inputmode="numeric"' in page.content
    # when they type the current code
    done = client.post(
        "/accounts/login/otp/", {"otp": otp_for(mfa_user), "next": "/accounts/profile/"}
    )
    # then they are signed in, sent on, and the login is audited once
    assert done.status_code == 302
    assert done["Location"] == "/accounts/profile/"
    assert _signed_in(client)
    assert AuditEvent.objects.filter(user=mfa_user, event="login.ok").count() == 1


def test_login_otp_step_with_a_wrong_code_stays_on_the_step(client: Client, mfa_user: User) -> None:
    # given a browser at the code step
    _password_step(client, mfa_user)
    # when a wrong code is typed
    response = client.post("/accounts/login/otp/", {"otp": "000000"})
    # then the step is shown again with the error, nobody is signed in, and it is audited
    assert response.status_code == 401
    assert b"2 attempts left" in response.content
    assert not _signed_in(client)
    failed = AuditEvent.objects.get(user=mfa_user, event="login.failed")
    assert failed.details["reason"] == "otp"
    assert client.get("/accounts/login/otp/").status_code == 200


def test_login_otp_step_allows_a_bounded_number_of_codes(
    client: Client, mfa_user: User, otp_for, settings
) -> None:
    # given a browser that typed three wrong codes (the device's delay after each is off here:
    # this is about the step's own bound)
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    _password_step(client, mfa_user)
    for _ in range(3):
        last = client.post("/accounts/login/otp/", {"otp": "000000"}, follow=True)
    # then it is back at the password step with the reason
    assert last.redirect_chain[-1][0] == "/accounts/login/"
    assert b"Too many wrong codes" in last.content
    # and even the right code is refused until the password is typed again
    response = client.post("/accounts/login/otp/", {"otp": otp_for(mfa_user)})
    assert response["Location"] == "/accounts/login/"
    assert not _signed_in(client)


def test_wrong_codes_count_towards_the_account_lockout(
    client: Client, mfa_user: User, otp_for, settings
) -> None:
    # given an account locked out after two failures, and two wrong codes typed (without the
    # device's delay between them)
    settings.LOGIN_FAILURES_PER_ACCOUNT = 2
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    _password_step(client, mfa_user)
    client.post("/accounts/login/otp/", {"otp": "000000"})
    client.post("/accounts/login/otp/", {"otp": "111111"})
    # when the right code follows
    response = client.post("/accounts/login/otp/", {"otp": otp_for(mfa_user)}, follow=True)
    # then the lockout refuses it, and the password step too
    assert b"Too many failed attempts" in response.content
    assert not _signed_in(client)
    assert _password_step(client, mfa_user).status_code == 429
    assert AuditEvent.objects.filter(user=mfa_user, event="login.locked").exists()


def test_login_otp_step_expires(client: Client, mfa_user: User, otp_for, settings) -> None:
    # given a code step that has timed out
    settings.LOGIN_OTP_STEP_SECONDS = 0
    _password_step(client, mfa_user)
    # when the right code is typed
    response = client.post("/accounts/login/otp/", {"otp": otp_for(mfa_user)}, follow=True)
    # then the browser is back at the password step, not signed in
    assert response.redirect_chain[-1][0] == "/accounts/login/"
    assert b"Your sign-in timed out" in response.content
    assert not _signed_in(client)
    assert not AuditEvent.objects.filter(event="login.ok").exists()


def test_login_otp_step_without_the_password_step_is_refused(
    client: Client, mfa_user: User, otp_for
) -> None:
    # when a browser that never passed the password step opens or posts the code step
    page = client.get("/accounts/login/otp/")
    response = client.post("/accounts/login/otp/", {"otp": otp_for(mfa_user)})
    # then both send it to the password step and nobody is signed in
    assert page.status_code == 302
    assert page["Location"] == "/accounts/login/"
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert not _signed_in(client)
    assert not AuditEvent.objects.filter(event="login.ok").exists()


def test_login_otp_step_refuses_a_replayed_code(client: Client, mfa_user: User, otp_for) -> None:
    # given a code that already signed the user in once
    code = otp_for(mfa_user)
    _password_step(client, mfa_user)
    assert client.post("/accounts/login/otp/", {"otp": code}).status_code == 302
    client.post("/accounts/logout/")
    # when the same code is used for a new sign-in
    _password_step(client, mfa_user)
    response = client.post("/accounts/login/otp/", {"otp": code})
    # then it is refused
    assert response.status_code == 401
    assert not _signed_in(client)


def test_login_otp_step_is_void_after_a_password_change(
    client: Client, mfa_user: User, otp_for
) -> None:
    # given a browser at the code step, and the password changed meanwhile
    _password_step(client, mfa_user)
    mfa_user.set_password(NEW_PASSWORD)
    mfa_user.save(update_fields=["password"])
    # when the right code is typed
    response = client.post("/accounts/login/otp/", {"otp": otp_for(mfa_user)})
    # then the old password step no longer counts
    assert response["Location"] == "/accounts/login/"
    assert not _signed_in(client)


def test_logout_is_post_only_and_audited(client: Client, user: User) -> None:
    client.force_login(user)
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/accounts/profile/").status_code == 302  # to the login page
    assert AuditEvent.objects.filter(user=user, event="logout").exists()


def test_profile_needs_a_session(client: Client) -> None:
    response = client.get("/accounts/profile/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_profile_page_shows_forms_and_recent_activity(client: Client, user: User) -> None:
    client.post("/accounts/login/", {"username": user.username, "password": DEFAULT_PASSWORD})
    page = client.get("/accounts/profile/")
    assert page.status_code == 200
    assert b"login.ok" in page.content
    assert b"Change password" in page.content


def test_profile_edit_saves(client: Client, user: User) -> None:
    client.force_login(user)
    response = client.post(
        "/accounts/profile/",
        {"email": user.email, "handle": "newhandle", "first_name": "Ada", "last_name": ""},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.handle == "newhandle"


def test_password_change_keeps_this_browser_and_ends_others(user: User) -> None:
    # given two browsers signed in
    this, other = Client(), Client()
    this.force_login(user)
    other.force_login(user)
    # when one changes the password
    response = this.post(
        "/accounts/password/", {"old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}
    )
    # then it stays signed in and the other is signed out
    assert response.status_code == 302
    assert this.get("/accounts/profile/").status_code == 200
    assert other.get("/accounts/profile/").status_code == 302


def test_mfa_set_up_and_confirm_through_the_pages(client: Client, user: User, otp_for) -> None:
    client.force_login(user)
    page = client.post("/accounts/mfa/setup/")
    assert page.status_code == 200
    assert b"<svg" in page.content
    response = client.post("/accounts/mfa/confirm/", {"otp": otp_for(user)})
    assert response.status_code == 302
    assert TOTPDevice.objects.get(user=user).confirmed is True


def test_account_delete_closes_and_signs_out(client: Client, user: User) -> None:
    client.force_login(user)
    response = client.post("/accounts/delete/", {"password": DEFAULT_PASSWORD, "confirm": "on"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.is_active is False
    assert client.get("/accounts/profile/").status_code == 302


def test_admin_actions_reset_mfa_and_disable(client: Client, mfa_user: User) -> None:
    # given a superuser in the admin
    admin_user = UserFactory.create(is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    assert client.get("/admin/accounts/user/").status_code == 200
    # when they reset the user's MFA and then disable the account
    client.post("/admin/accounts/user/", {"action": "reset_mfa", "_selected_action": [mfa_user.pk]})
    client.post(
        "/admin/accounts/user/", {"action": "disable_accounts", "_selected_action": [mfa_user.pk]}
    )
    # then both happened and were audited with the admin as actor
    mfa_user.refresh_from_db()
    assert not TOTPDevice.objects.filter(user=mfa_user).exists()
    assert mfa_user.is_active is False
    events = set(AuditEvent.objects.filter(actor=admin_user).values_list("event", flat=True))
    assert events == {"mfa.reset_by_admin", "account.disabled"}
    # and the audit log is readable but not editable
    assert client.get("/admin/accounts/auditevent/").status_code == 200
    assert client.get("/admin/accounts/auditevent/add/").status_code == 403


def test_login_otp_step_refuses_an_account_disabled_meanwhile(
    client: Client, mfa_user: User, otp_for
) -> None:
    # given a browser at the code step, and the account disabled meanwhile
    _password_step(client, mfa_user)
    User.objects.filter(pk=mfa_user.pk).update(is_active=False)
    # when the right code is typed
    response = client.post("/accounts/login/otp/", {"otp": otp_for(mfa_user)})
    # then nobody is signed in
    assert response["Location"] == "/accounts/login/"
    assert not AuditEvent.objects.filter(event="login.ok").exists()


def test_api_keys_on_the_account_page_create_show_the_secret_once_and_revoke(
    client: Client, user: User
) -> None:
    client.force_login(user)
    created = client.post(
        "/accounts/api-keys/",
        {
            "key-label": "grid bot",
            "key-permissions": ["trade"],
            "key-ip_allowlist": "127.0.0.1, 10.0.0.0/8",
        },
    )
    assert created.status_code == 200
    assert created["Cache-Control"] == "no-store"
    key = user.api_keys.get()
    secret = created.context["secret"]
    assert key.key in created.content.decode()
    assert secret in created.content.decode()
    assert key.permissions == ["read", "trade"]
    assert key.ip_allowlist == ["127.0.0.1", "10.0.0.0/8"]

    page = client.get("/accounts/profile/").content.decode()
    assert "grid bot" in page
    assert secret not in page  # never again
    assert key.key not in page  # only its first characters

    bad = client.post("/accounts/api-keys/", {"key-label": "w", "key-permissions": ["withdraw"]})
    assert bad.status_code == 400
    assert user.api_keys.count() == 1

    revoked = client.post(f"/accounts/api-keys/{key.pk}/revoke/")
    assert revoked.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    other = UserFactory.create()
    client.force_login(other)
    client.post(f"/accounts/api-keys/{key.pk}/revoke/")  # not theirs: nothing happens
    assert AuditEvent.objects.filter(event="api_key.revoked").count() == 1
