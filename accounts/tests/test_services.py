"""Services: lockouts, concurrent refresh, the closing hook, websocket token check."""

from __future__ import annotations

import threading

import pytest
from django.db import connections
from django.test import RequestFactory, override_settings
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from accounts.authentication import user_from_access_token
from accounts.errors import AuthenticationFailed, TokenNotValid
from accounts.models import AuditEvent, User
from accounts.signals import account_closing
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from tradehive.errors import Conflict, InvalidInput, RateLimited

pytestmark = pytest.mark.django_db


def _request_from(ip: str):
    return RequestFactory().post("/", REMOTE_ADDR=ip)


@override_settings(LOGIN_FAILURES_PER_IP=4, LOGIN_FAILURES_PER_ACCOUNT=100)
def test_one_address_guessing_many_accounts_is_locked_out() -> None:
    # given an address that failed against four different accounts
    users = UserFactory.create_batch(5)
    for victim in users[:4]:
        with pytest.raises(AuthenticationFailed):
            services.user_login(
                username=victim.username,
                password="guess",
                otp=None,
                request=_request_from("203.0.113.7"),
            )
    # when it tries a fifth account, even with the right password
    # then it is refused, while another address still signs in
    with pytest.raises(RateLimited) as refused:
        services.user_login(
            username=users[4].username,
            password=DEFAULT_PASSWORD,
            otp=None,
            request=_request_from("203.0.113.7"),
        )
    assert refused.value.retry_after > 0
    signed_in = services.user_login(
        username=users[4].username,
        password=DEFAULT_PASSWORD,
        otp=None,
        request=_request_from("198.51.100.1"),
    )
    assert signed_in == users[4]


@override_settings(LOGIN_FAILURES_PER_ACCOUNT=3)
def test_a_success_clears_the_account_counter(user: User) -> None:
    for _ in range(2):
        with pytest.raises(AuthenticationFailed):
            services.user_login(username=user.username, password="x", otp=None)
    services.user_login(username=user.username, password=DEFAULT_PASSWORD, otp=None)
    # two more failures after the success do not lock yet
    for _ in range(2):
        with pytest.raises(AuthenticationFailed):
            services.user_login(username=user.username, password="x", otp=None)
    assert services.user_login(username=user.username, password=DEFAULT_PASSWORD, otp=None)


@override_settings(LOGIN_FAILURES_PER_ACCOUNT=2)
def test_password_guesses_through_password_change_count_towards_the_lockout(user: User) -> None:
    # given a stolen session guessing the current password
    for _ in range(2):
        with pytest.raises(InvalidInput):
            services.password_change(user=user, old_password="guess", new_password="x" * 20)
    # then the real password is locked out too
    with pytest.raises(RateLimited):
        services.password_change(
            user=user, old_password=DEFAULT_PASSWORD, new_password="a brand new passphrase"
        )
    assert AuditEvent.objects.filter(user=user, event="login.failed").count() == 2


def test_an_unknown_user_fails_like_a_wrong_password() -> None:
    with pytest.raises(AuthenticationFailed):
        services.user_login(username="nobody", password="whatever", otp=None)
    assert AuditEvent.objects.get(event="login.failed").details["username"] == "nobody"


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_refreshes_of_one_token_cannot_both_succeed() -> None:
    # given one refresh token
    user = UserFactory.create()
    refresh = services.token_pair_issue(user=user)["refresh"]
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def refresh_once() -> None:
        barrier.wait()
        try:
            services.token_refresh(refresh=refresh)
            outcomes.append("ok")
        except TokenNotValid:
            outcomes.append("refused")
        finally:
            connections.close_all()

    # when two clients present it at the same moment
    threads = [threading.Thread(target=refresh_once) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then exactly one gets a new pair; the other is treated as reuse
    assert sorted(outcomes) == ["ok", "refused"]
    assert AuditEvent.objects.filter(event="token.refresh_reuse").count() == 1


def test_a_receiver_can_refuse_closing_an_account(user: User) -> None:
    # given an app that refuses while funds are held
    def refuse(sender, user, **kwargs) -> None:
        raise Conflict("Withdraw your funds first.", code="funds_held")

    account_closing.connect(refuse)
    try:
        # when the user tries to close the account
        with pytest.raises(Conflict):
            services.user_delete(user=user, password=DEFAULT_PASSWORD, otp=None)
    finally:
        account_closing.disconnect(refuse)
    # then nothing changed
    user.refresh_from_db()
    assert user.is_active is True
    assert not AuditEvent.objects.filter(event="account.deleted").exists()


def test_closed_names_cannot_be_registered() -> None:
    with pytest.raises(InvalidInput) as refused:
        services.user_register(
            username="closed_7", email="c@example.com", password="a long enough password"
        )
    assert "username" in refused.value.fields


def test_user_from_access_token_for_the_websocket(user: User) -> None:
    access = services.token_pair_issue(user=user)["access"]
    assert user_from_access_token(access) == user
    with pytest.raises(TokenNotValid):
        user_from_access_token(services.token_pair_issue(user=user)["refresh"])
    with pytest.raises(TokenNotValid):
        user_from_access_token("garbage")
    User.objects.filter(pk=user.pk).update(is_active=False)
    with pytest.raises(TokenNotValid):
        user_from_access_token(access)


def test_mfa_setup_again_keeps_the_unconfirmed_secret(user: User) -> None:
    # given a set-up under way
    first = services.mfa_setup(user=user)
    # when set-up is asked again (a reload, a retried request)
    second = services.mfa_setup(user=user)
    # then the app's secret still holds
    assert second.secret == first.secret
    assert second.otpauth_url == first.otpauth_url
    assert TOTPDevice.objects.filter(user=user).count() == 1


def test_mfa_setup_restart_replaces_the_unconfirmed_device(user: User) -> None:
    # given a set-up under way
    first = services.mfa_setup(user=user)
    # when the user starts over
    second = services.mfa_setup(user=user, restart=True)
    # then a new secret replaces the old one
    assert first.secret != second.secret
    assert TOTPDevice.objects.filter(user=user).count() == 1


def test_sign_in_ignores_the_case_of_the_username() -> None:
    user = UserFactory.create(username="Satoshi")
    assert services.user_login(username="satoshi", password=DEFAULT_PASSWORD, otp=None) == user
