"""Web pages: sign up, log in (with MFA), log out, account page actions, admin actions."""

from __future__ import annotations

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AuditEvent, User
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a much longer new secret 42"


def test_signup_creates_the_user_and_signs_in(client: Client) -> None:
    # when a visitor fills in the sign-up form
    response = client.post("/accounts/signup/", {
        "username": "webtrader", "email": "web@example.com", "password": NEW_PASSWORD})
    # then they are signed in and sent home
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/accounts/profile/").status_code == 200
    assert User.objects.filter(username="webtrader").exists()


def test_signup_shows_field_errors(client: Client) -> None:
    UserFactory(username="taken")
    response = client.post("/accounts/signup/", {
        "username": "taken", "email": "x@example.com", "password": "short"})
    assert response.status_code == 400
    assert b"This username is taken." in response.content
    assert b"This password is too short" in response.content


def test_login_page_signs_in_and_follows_a_local_next(client: Client, user: User) -> None:
    assert client.get("/accounts/login/").status_code == 200
    response = client.post("/accounts/login/?next=/accounts/profile/", {
        "username": user.username, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/profile/"


def test_login_ignores_a_next_pointing_elsewhere(client: Client, user: User) -> None:
    response = client.post("/accounts/login/", {
        "username": user.username, "password": DEFAULT_PASSWORD,
        "next": "https://evil.example/steal"})
    assert response["Location"] == "/"


def test_login_with_a_wrong_password_shows_the_error(client: Client, user: User) -> None:
    response = client.post("/accounts/login/", {"username": user.username, "password": "nope"})
    assert response.status_code == 401
    assert b"Wrong username or password." in response.content


def test_login_with_mfa_needs_the_code(client: Client, mfa_user: User, otp_for) -> None:
    without = client.post("/accounts/login/", {
        "username": mfa_user.username, "password": DEFAULT_PASSWORD})
    assert without.status_code == 401
    assert b"one-time code" in without.content
    with_code = client.post("/accounts/login/", {
        "username": mfa_user.username, "password": DEFAULT_PASSWORD, "otp": otp_for(mfa_user)})
    assert with_code.status_code == 302


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
    response = client.post("/accounts/profile/", {
        "email": user.email, "handle": "newhandle", "first_name": "Ada", "last_name": ""})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.handle == "newhandle"


def test_password_change_keeps_this_browser_and_ends_others(user: User) -> None:
    # given two browsers signed in
    this, other = Client(), Client()
    this.force_login(user)
    other.force_login(user)
    # when one changes the password
    response = this.post("/accounts/password/", {
        "old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD})
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
    response = client.post("/accounts/delete/", {"password": DEFAULT_PASSWORD,
                                                 "confirm": "on"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.is_active is False
    assert client.get("/accounts/profile/").status_code == 302


def test_admin_actions_reset_mfa_and_disable(client: Client, mfa_user: User) -> None:
    # given a superuser in the admin
    admin_user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    assert client.get("/admin/accounts/user/").status_code == 200
    # when they reset the user's MFA and then disable the account
    client.post("/admin/accounts/user/", {"action": "reset_mfa",
                                          "_selected_action": [mfa_user.pk]})
    client.post("/admin/accounts/user/", {"action": "disable_accounts",
                                          "_selected_action": [mfa_user.pk]})
    # then both happened and were audited with the admin as actor
    mfa_user.refresh_from_db()
    assert not TOTPDevice.objects.filter(user=mfa_user).exists()
    assert mfa_user.is_active is False
    events = set(AuditEvent.objects.filter(actor=admin_user).values_list("event", flat=True))
    assert events == {"mfa.reset_by_admin", "account.disabled"}
    # and the audit log is readable but not editable
    assert client.get("/admin/accounts/auditevent/").status_code == 200
    assert client.get("/admin/accounts/auditevent/add/").status_code == 403
