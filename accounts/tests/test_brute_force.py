"""Brute force and identity (issue 14, section 2): one-time codes are counted durably and locked
out on every entry point, the device's delay after a wrong code is said as such, an MFA set-up
keeps its secret, and the client address cannot be forged with X-Forwarded-For."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

import pytest
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.response import Response
from rest_framework.test import APIClient

from accounts import ratelimit
from accounts.mfa import mfa_enabled
from accounts.models import AuditEvent, User
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory

if TYPE_CHECKING:  # the stubs' test response types exist only for type checking
    from rest_framework.response import _MonkeyPatchedResponse as ApiResponse

pytestmark = pytest.mark.django_db

WRONG = "000000"
ATTACKS = 50


# django-otp's delay after a wrong code, in the tests that read it: long enough that no stall of
# a busy machine between two requests outlasts it.
THROTTLE_S = 30


def _code_of_pending_setup(user: User, otp_for: Callable[..., str]) -> str:
    assert TOTPDevice.objects.filter(user=user, confirmed=False).exists()
    return otp_for(user)


def _assert_locked_out(answer, *, limit: int, refused: list[int]) -> None:
    """The right code got 429 ``rate_limited`` with Retry-After, and at most ``limit`` of the
    wrong codes were ever looked at (the rest were refused with 429 too)."""
    assert answer.status_code == 429
    assert int(answer["Retry-After"]) > 0
    if isinstance(answer, Response):
        assert answer.data["error"]["code"] == "rate_limited"
        assert answer.data["error"]["message"].startswith("Too many attempts; try again in ")
    assert sum(status != 429 for status in refused) <= limit
    assert refused[-1] == 429


# --- 50 wrong codes, then the right one: REST ----------------------------------------------------


def test_mfa_disable_with_a_stolen_token_is_locked_out_after_a_few_wrong_codes(
    jwt_client: APIClient, mfa_user: User, otp_for, settings
) -> None:
    # given an attacker with an access token sending 50 wrong codes as fast as it can
    refused = [
        jwt_client.post("/api/v1/auth/mfa/disable", {"otp": WRONG}, format="json").status_code
        for _ in range(ATTACKS)
    ]
    # when the right code follows
    answer = jwt_client.post("/api/v1/auth/mfa/disable", {"otp": otp_for(mfa_user)}, format="json")
    # then it is refused too, and MFA stays on
    _assert_locked_out(answer, limit=settings.OTP_FAILURES_PER_USER, refused=refused)
    assert mfa_enabled(mfa_user)


def test_token_with_wrong_codes_is_locked_out_even_for_the_right_code(
    api_client: APIClient, mfa_user: User, otp_for, settings
) -> None:
    # given the password is known (the account's password lockout set out of the way) and 50
    # wrong codes were tried
    settings.LOGIN_FAILURES_PER_ACCOUNT = 1000
    settings.LOGIN_FAILURES_PER_IP = 1000
    body = {"username": mfa_user.username, "password": DEFAULT_PASSWORD}
    refused = [
        api_client.post("/api/v1/auth/token", {**body, "otp": WRONG}, format="json").status_code
        for _ in range(ATTACKS)
    ]
    # when the right code follows
    answer = api_client.post(
        "/api/v1/auth/token", {**body, "otp": otp_for(mfa_user)}, format="json"
    )
    # then no token is issued, and the refusals are audited
    _assert_locked_out(answer, limit=settings.OTP_FAILURES_PER_USER, refused=refused)
    assert "access" not in answer.json()
    assert AuditEvent.objects.filter(
        user=mfa_user, event="login.locked", details__reason="otp"
    ).exists()
    assert not AuditEvent.objects.filter(user=mfa_user, event="login.ok").exists()


def test_closing_the_account_with_wrong_codes_is_locked_out(
    jwt_client: APIClient, mfa_user: User, otp_for, settings
) -> None:
    # given 50 attempts to close the account with the password and wrong codes
    body = {"password": DEFAULT_PASSWORD}
    refused = [
        jwt_client.delete("/api/v1/auth/me", {**body, "otp": WRONG}, format="json").status_code
        for _ in range(ATTACKS)
    ]
    # when the right code follows
    answer = jwt_client.delete("/api/v1/auth/me", {**body, "otp": otp_for(mfa_user)}, format="json")
    # then the account stays open
    _assert_locked_out(answer, limit=settings.OTP_FAILURES_PER_USER, refused=refused)
    mfa_user.refresh_from_db()
    assert mfa_user.is_active


def test_mfa_confirm_with_wrong_codes_is_locked_out(
    jwt_client: APIClient, user: User, otp_for, settings
) -> None:
    # given a set-up under way and 50 wrong codes sent to confirm it
    jwt_client.post("/api/v1/auth/mfa/setup", format="json")
    refused = [
        jwt_client.post("/api/v1/auth/mfa/confirm", {"otp": WRONG}, format="json").status_code
        for _ in range(ATTACKS)
    ]
    # when the right code follows
    answer = jwt_client.post(
        "/api/v1/auth/mfa/confirm", {"otp": _code_of_pending_setup(user, otp_for)}, format="json"
    )
    # then MFA is still not on, and the set-up is still there for later
    _assert_locked_out(answer, limit=settings.OTP_FAILURES_PER_USER, refused=refused)
    assert not mfa_enabled(user)
    assert TOTPDevice.objects.filter(user=user, confirmed=False).count() == 1


def test_the_code_lockout_is_shared_by_every_entry_point(
    jwt_client: APIClient, mfa_user: User, otp_for, settings
) -> None:
    # given the user's code budget spent on mfa/disable (the device's delay off, so each code
    # is really checked)
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    for _ in range(settings.OTP_FAILURES_PER_USER):
        wrong = jwt_client.post("/api/v1/auth/mfa/disable", {"otp": WRONG}, format="json")
        assert wrong.status_code == 401
    # when the right code is used to sign in elsewhere
    answer = APIClient().post(
        "/api/v1/auth/token",
        {"username": mfa_user.username, "password": DEFAULT_PASSWORD, "otp": otp_for(mfa_user)},
        format="json",
    )
    # then it is refused as well
    assert answer.status_code == 429
    assert answer.json()["error"]["code"] == "rate_limited"


def test_the_lockout_ends_with_its_window(
    jwt_client: APIClient, mfa_user: User, otp_for, settings
) -> None:
    # given a short window, locked out by wrong codes
    settings.OTP_FAILURE_WINDOW_SECONDS = 2
    for _ in range(ATTACKS):
        jwt_client.post("/api/v1/auth/mfa/disable", {"otp": WRONG}, format="json")
    locked = jwt_client.post("/api/v1/auth/mfa/disable", {"otp": otp_for(mfa_user)}, format="json")
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) <= 2
    # when the window has passed
    time.sleep(2.2)
    answer = jwt_client.post("/api/v1/auth/mfa/disable", {"otp": otp_for(mfa_user)}, format="json")
    # then the right code works
    assert answer.status_code == 204
    assert not mfa_enabled(mfa_user)


def test_refused_codes_stay_counted_when_the_request_rolls_back(
    jwt_client: APIClient, mfa_user: User, settings
) -> None:
    # given wrong codes sent to an operation that writes nothing when refused
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    for _ in range(3):
        jwt_client.post("/api/v1/auth/mfa/disable", {"otp": WRONG}, format="json")
    # then the counter outside the database holds every one of them
    assert int(cast(str, ratelimit.get_redis().get(ratelimit._otp_key(mfa_user.pk)))) == 3


# --- the device's delay after a wrong code ------------------------------------------------------


def _wait_out_the_delay(user: User) -> None:
    """As if the device's delay had passed: its last failure moved back past any delay."""
    TOTPDevice.objects.filter(user=user).update(
        throttling_failure_timestamp=timezone.now() - timedelta(seconds=THROTTLE_S + 1)
    )


def test_a_right_code_right_after_a_wrong_one_is_told_to_wait(
    jwt_client: APIClient, mfa_user: User, otp_for, settings
) -> None:
    # given a wrong code just now (a delay long enough that no stall of the machine outlasts it)
    settings.OTP_TOTP_THROTTLE_FACTOR = THROTTLE_S
    wrong = jwt_client.post("/api/v1/auth/mfa/disable", {"otp": WRONG}, format="json")
    assert wrong.status_code == 401
    # when the right one follows at once
    early = jwt_client.post("/api/v1/auth/mfa/disable", {"otp": otp_for(mfa_user)}, format="json")
    # then the answer says how long to wait, and once that has passed the code works
    assert early.status_code == 429
    error = early.json()["error"]
    assert error["code"] == "rate_limited"
    assert error["message"] == f"Too many attempts; try again in {early['Retry-After']} s."
    assert 1 <= int(early["Retry-After"]) <= THROTTLE_S
    _wait_out_the_delay(mfa_user)
    answer = jwt_client.post("/api/v1/auth/mfa/disable", {"otp": otp_for(mfa_user)}, format="json")
    assert answer.status_code == 204


def test_the_login_code_page_says_how_long_to_wait_after_a_wrong_code(
    client: Client, mfa_user: User, otp_for, settings
) -> None:
    # given a browser at the code step that typed a wrong code
    settings.OTP_TOTP_THROTTLE_FACTOR = THROTTLE_S
    client.post("/accounts/login/", {"username": mfa_user.username, "password": DEFAULT_PASSWORD})
    assert client.post("/accounts/login/otp/", {"otp": WRONG}).status_code == 401
    # when the right code follows at once
    early = client.post("/accounts/login/otp/", {"otp": otp_for(mfa_user)})
    # then the step says to wait, and stays; after the wait the same step signs in
    assert early.status_code == 429
    assert 1 <= int(early["Retry-After"]) <= THROTTLE_S
    assert f"Too many attempts; try again in {early['Retry-After']} s.".encode() in early.content
    _wait_out_the_delay(mfa_user)
    done = client.post("/accounts/login/otp/", {"otp": otp_for(mfa_user)})
    assert done.status_code == 302
    assert client.get("/accounts/profile/").status_code == 200


# --- 50 wrong codes, then the right one: browser pages -------------------------------------------


def test_login_code_page_is_locked_out_after_wrong_codes(
    client: Client, mfa_user: User, otp_for, settings
) -> None:
    # given the password is known and 50 wrong codes were typed at the code step (the
    # password step redone whenever the step sends the browser back)
    settings.LOGIN_FAILURES_PER_ACCOUNT = 1000
    settings.LOGIN_FAILURES_PER_IP = 1000
    password_step = {"username": mfa_user.username, "password": DEFAULT_PASSWORD}
    client.post("/accounts/login/", password_step)
    refused = []
    for _ in range(ATTACKS):
        answer = client.post("/accounts/login/otp/", {"otp": WRONG})
        refused.append(answer.status_code)
        if answer.status_code == 302:
            client.post("/accounts/login/", password_step)
    # when the right code follows
    client.post("/accounts/login/", password_step)
    answer = client.post("/accounts/login/otp/", {"otp": otp_for(mfa_user)})
    # then nobody is signed in
    assert answer.status_code == 429
    assert int(answer["Retry-After"]) > 0
    assert b"Too many attempts; try again in " in answer.content
    assert sum(status in (400, 401) for status in refused) <= settings.OTP_FAILURES_PER_USER
    assert client.get("/accounts/profile/").status_code == 302


def test_mfa_disable_page_is_locked_out_after_wrong_codes(
    client: Client, mfa_user: User, otp_for, settings
) -> None:
    client.force_login(mfa_user)
    refused = [
        client.post("/accounts/mfa/disable/", {"otp": WRONG}).status_code for _ in range(ATTACKS)
    ]
    answer = client.post("/accounts/mfa/disable/", {"otp": otp_for(mfa_user)})
    _assert_locked_out(answer, limit=settings.OTP_FAILURES_PER_USER, refused=refused)
    assert b"Too many attempts; try again in " in answer.content
    assert mfa_enabled(mfa_user)


def test_account_delete_page_is_locked_out_after_wrong_codes(
    client: Client, mfa_user: User, otp_for, settings
) -> None:
    client.force_login(mfa_user)
    body = {"password": DEFAULT_PASSWORD, "confirm": "on"}
    refused = [
        client.post("/accounts/delete/", {**body, "otp": WRONG}).status_code for _ in range(ATTACKS)
    ]
    answer = client.post("/accounts/delete/", {**body, "otp": otp_for(mfa_user)})
    _assert_locked_out(answer, limit=settings.OTP_FAILURES_PER_USER, refused=refused)
    mfa_user.refresh_from_db()
    assert mfa_user.is_active


def test_mfa_confirm_page_is_locked_out_after_wrong_codes(
    client: Client, user: User, otp_for, settings
) -> None:
    client.force_login(user)
    client.post("/accounts/mfa/setup/")
    refused = [
        client.post("/accounts/mfa/confirm/", {"otp": WRONG}).status_code for _ in range(ATTACKS)
    ]
    answer = client.post("/accounts/mfa/confirm/", {"otp": _code_of_pending_setup(user, otp_for)})
    _assert_locked_out(answer, limit=settings.OTP_FAILURES_PER_USER, refused=refused)
    assert not mfa_enabled(user)


# --- the MFA set-up keeps its secret ------------------------------------------------------------


def test_a_wrong_code_during_api_set_up_keeps_the_secret(
    jwt_client: APIClient, user: User, otp_for, settings
) -> None:
    # given a set-up and a mistyped code (no device delay: this is about the secret)
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    first = jwt_client.post("/api/v1/auth/mfa/setup", format="json").json()
    wrong = jwt_client.post("/api/v1/auth/mfa/confirm", {"otp": WRONG}, format="json")
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (400, "otp_invalid")
    # when the client asks for the set-up again and confirms with the app's code
    again = jwt_client.post("/api/v1/auth/mfa/setup", format="json").json()
    confirmed = jwt_client.post("/api/v1/auth/mfa/confirm", {"otp": otp_for(user)}, format="json")
    # then the secret never changed and MFA is on
    assert again["otpauth_url"] == first["otpauth_url"]
    assert confirmed.status_code == 204
    assert mfa_enabled(user)


def test_api_set_up_starts_over_only_when_asked(jwt_client: APIClient, user: User) -> None:
    first = jwt_client.post("/api/v1/auth/mfa/setup", format="json").json()
    restarted = jwt_client.post("/api/v1/auth/mfa/setup", {"restart": True}, format="json")
    assert restarted.status_code == 200
    assert restarted.json()["otpauth_url"] != first["otpauth_url"]
    assert TOTPDevice.objects.filter(user=user).count() == 1


def _secret_on(page) -> str:
    text = page.content.decode()
    start = text.index('data-testid="mfa-secret">') + len('data-testid="mfa-secret">')
    return text[start : text.index("<", start)]


def test_a_wrong_code_on_the_set_up_page_shows_the_same_secret_again(
    client: Client, user: User, otp_for, settings
) -> None:
    # given the set-up page and a mistyped code
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    client.force_login(user)
    setup = client.post("/accounts/mfa/setup/")
    wrong = client.post("/accounts/mfa/confirm/", {"otp": WRONG})
    # then the set-up page is shown again, with the error and the same secret
    assert wrong.status_code == 400
    assert b"The code does not match" in wrong.content
    assert _secret_on(wrong) == _secret_on(setup)
    # and the profile offers to continue; continuing shows that secret still
    assert b"Continue set-up" in client.get("/accounts/profile/").content
    assert _secret_on(client.post("/accounts/mfa/setup/")) == _secret_on(setup)
    # when the app's code is typed
    done = client.post("/accounts/mfa/confirm/", {"otp": otp_for(user)})
    # then MFA is on
    assert done.status_code == 302
    assert mfa_enabled(user)


def test_start_over_on_the_set_up_page_gives_a_new_secret(client: Client, user: User) -> None:
    client.force_login(user)
    setup = client.post("/accounts/mfa/setup/")
    again = client.post("/accounts/mfa/setup/", {"restart": "1"})
    assert _secret_on(again) != _secret_on(setup)
    assert TOTPDevice.objects.filter(user=user).count() == 1


# --- client addresses ----------------------------------------------------------------------------

ATTACKER = "198.51.100.66"


def _login(client: APIClient, user: User, password: str, **headers: Any) -> ApiResponse:
    return client.post(
        "/api/v1/auth/token",
        {"username": user.username, "password": password},
        format="json",
        REMOTE_ADDR=ATTACKER,
        **headers,
    )


def test_forged_forwarded_for_does_not_reset_the_per_address_lockout(
    api_client: APIClient, settings
) -> None:
    # given an address that failed 3 times against different accounts, each time claiming
    # another X-Forwarded-For (no proxy is trusted)
    settings.LOGIN_FAILURES_PER_IP = 3
    settings.LOGIN_FAILURES_PER_ACCOUNT = 100
    victims = UserFactory.create_batch(4)
    for index, victim in enumerate(victims[:3]):
        failed = _login(api_client, victim, "guess", HTTP_X_FORWARDED_FOR=f"10.0.0.{index}")
        assert failed.status_code == 401
    # when it tries again with yet another forged address, even with a right password
    answer = _login(api_client, victims[3], DEFAULT_PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.200")
    # then its real address is still locked out, and the audit log names the real address
    assert answer.status_code == 429
    assert set(AuditEvent.objects.filter(event="login.failed").values_list("ip", flat=True)) == {
        ATTACKER
    }


def test_forged_forwarded_for_does_not_reset_the_registration_cap(
    api_client: APIClient, monkeypatch
) -> None:
    # given an address that used up its registrations (2 here)
    monkeypatch.setattr(ratelimit, "REGISTRATIONS_PER_IP_PER_HOUR", 2)

    def register(index: int, forged: str):
        return api_client.post(
            "/api/v1/auth/register",
            {
                "username": f"bulk{index}",
                "email": f"bulk{index}@example.com",
                "password": "a long enough passphrase 42",
            },
            format="json",
            REMOTE_ADDR=ATTACKER,
            HTTP_X_FORWARDED_FOR=forged,
        )

    assert [register(i, f"10.1.0.{i}").status_code for i in range(2)] == [201, 201]
    # when it registers again claiming to be someone else
    answer = register(2, "203.0.113.201")
    # then it is refused
    assert answer.status_code == 429
    assert not User.objects.filter(username="bulk2").exists()


def test_behind_a_trusted_proxy_the_right_most_untrusted_address_is_used(
    api_client: APIClient, user: User, settings
) -> None:
    # given nginx at 10.0.0.5 is trusted, and two clients behind it, one forging a header
    settings.TRUSTED_PROXIES = ["10.0.0.5"]
    settings.LOGIN_FAILURES_PER_IP = 2
    settings.LOGIN_FAILURES_PER_ACCOUNT = 100
    for _ in range(2):
        failed = api_client.post(
            "/api/v1/auth/token",
            {"username": user.username, "password": "guess"},
            format="json",
            HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9",
            REMOTE_ADDR="10.0.0.5",  # through nginx
        )
        assert failed.status_code == 401
    # when the guessing client forges another left-hand address, and another client signs in
    again = api_client.post(
        "/api/v1/auth/token",
        {"username": user.username, "password": DEFAULT_PASSWORD},
        format="json",
        HTTP_X_FORWARDED_FOR="7.7.7.7, 203.0.113.9",
        REMOTE_ADDR="10.0.0.5",  # through nginx
    )
    other = api_client.post(
        "/api/v1/auth/token",
        {"username": user.username, "password": DEFAULT_PASSWORD},
        format="json",
        HTTP_X_FORWARDED_FOR="203.0.113.10",
        REMOTE_ADDR="10.0.0.5",  # through nginx
    )
    # then the address nginx saw is the one locked out and audited, not the proxy's or the
    # forged one
    assert again.status_code == 429
    assert other.status_code == 200
    assert set(AuditEvent.objects.filter(event="login.failed").values_list("ip", flat=True)) == {
        "203.0.113.9"
    }
    assert AuditEvent.objects.get(event="login.ok").ip == "203.0.113.10"


def test_the_admin_has_no_password_only_sign_in(client: Client, mfa_user: User) -> None:
    # given a staff member with MFA
    mfa_user.is_staff = True
    mfa_user.is_superuser = True
    mfa_user.save()
    # when someone posts only the password to the admin's login form
    answer = client.post(
        "/admin/login/?next=/admin/", {"username": mfa_user.username, "password": DEFAULT_PASSWORD}
    )
    # then they are sent to the site's sign-in (lockout, code step) and the admin stays shut
    assert answer.status_code == 302
    assert answer["Location"] == "/accounts/login/?next=/admin/"
    assert client.get("/admin/").status_code == 302
    assert not AuditEvent.objects.filter(event="login.ok").exists()
