"""API request budgets (``accounts.request_limits``): weights, 429s with ``Retry-After`` and the
``X-RateLimit-*`` headers, per user and per address, across processes, and the abuse log."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from django.test import Client, RequestFactory, override_settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.exceptions import TokenError

from accounts.api_keys import api_key_create
from accounts.authentication import access_token_validated
from accounts.models import AbuseRecord, User
from accounts.request_limits import WEIGHTS
from accounts.services import token_pair_issue
from accounts.tests.factories import UserFactory
from accounts.tests.signed import SignedClient
from tradehive.embedded_redis import free_port, wait_for_port
from tradehive.testing.processes import ROOT, process_env, stop


def _clear_of_window_end(window_s: int = 60, margin_s: float = 3.0) -> None:
    """Wait out the last ``margin_s`` of a fixed window, so a test's requests share one."""
    left = window_s - time.time() % window_s
    if left < margin_s:
        time.sleep(left + 0.05)


def _bearer(user: User) -> APIClient:
    client = APIClient(REMOTE_ADDR="10.0.0.1")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_issue(user=user)['access']}")
    return client


def test_an_anonymous_answer_reports_the_address_budget(db, settings) -> None:
    # when
    answer = Client().get("/api/v1/markets")
    # then the markets list cost its weight from the address's minute budget
    limit = settings.RATE_LIMIT_IP_WEIGHT_PER_MINUTE
    assert answer.status_code == 200
    assert answer["X-RateLimit-Limit"] == str(limit)
    assert answer["X-RateLimit-Remaining"] == str(limit - WEIGHTS[("markets-list", "GET")])
    assert 1 <= int(answer["X-RateLimit-Reset"]) <= 60


def test_an_authenticated_answer_reports_the_users_budget(user: User, settings) -> None:
    # when
    answer = _bearer(user).get("/api/v1/auth/me")
    # then
    limit = settings.RATE_LIMIT_USER_WEIGHT_PER_MINUTE
    assert answer.status_code == 200
    assert answer["X-RateLimit-Limit"] == str(limit)
    assert answer["X-RateLimit-Remaining"] == str(limit - 1)


def test_a_forged_token_is_charged_to_the_address(db, settings) -> None:
    # given a client with a token that does not verify
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
    # when
    answer = client.get("/api/v1/auth/me")
    # then it is refused by authentication, and paid for by its address
    assert answer.status_code == 401
    assert answer["X-RateLimit-Limit"] == str(settings.RATE_LIMIT_IP_WEIGHT_PER_MINUTE)


def test_a_2000_request_burst_gets_the_abuser_429s_while_another_user_goes_on(db, settings) -> None:
    # given two users on the default budgets
    abuser, other = UserFactory.create(), UserFactory.create()
    abusive, polite = _bearer(abuser), _bearer(other)
    _clear_of_window_end()
    # when the abuser sends 2,000 balance reads at once
    statuses = [abusive.get("/api/v1/wallet/balances").status_code for _ in range(2000)]
    answer = polite.get("/api/v1/wallet/balances")
    # then past its minute budget the abuser is refused, cheaply, and the other user is served
    weight = WEIGHTS[("wallet-balances", "GET")]
    allowed = settings.RATE_LIMIT_USER_WEIGHT_PER_MINUTE // weight
    assert statuses == [200] * allowed + [429] * (2000 - allowed)
    assert answer.status_code == 200
    refused = abusive.get("/api/v1/wallet/balances")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused["X-RateLimit-Remaining"] == "0"
    assert refused["X-RateLimit-Limit"] == str(settings.RATE_LIMIT_USER_WEIGHT_PER_MINUTE)


@override_settings(RATE_LIMIT_IP_WEIGHT_PER_MINUTE=10)
def test_an_address_past_its_budget_gets_429_and_other_addresses_go_on(db) -> None:
    _clear_of_window_end()
    # when one address reads the markets list (weight 2) six times
    answers = [Client(REMOTE_ADDR="192.0.2.7").get("/api/v1/markets") for _ in range(6)]
    other = Client(REMOTE_ADDR="192.0.2.8").get("/api/v1/markets")
    # then the sixth is refused; another address is not
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    assert answers[-1]["Retry-After"]
    assert other.status_code == 200


@override_settings(RATE_LIMIT_IP_WEIGHT_PER_MINUTE=2)
def test_the_health_check_is_neither_charged_nor_limited(db) -> None:
    # given an address that spent its whole budget
    _clear_of_window_end()
    client = Client()
    assert client.get("/api/v1/markets").status_code == 200
    assert client.get("/api/v1/markets").status_code == 429
    # when
    health = client.get("/healthz")
    # then
    assert health.status_code == 200
    assert "X-RateLimit-Limit" not in health


@override_settings(RATE_LIMIT_IP_WEIGHT_PER_MINUTE=1)
def test_refusals_are_one_abuse_record_a_window_not_a_row_a_request(db) -> None:
    # given an address that spent its budget
    _clear_of_window_end()
    client = Client(REMOTE_ADDR="198.51.100.9")
    assert client.get("/api/v1/auth/me").status_code == 401
    # when it sends 100 more requests
    statuses = {client.get("/api/v1/auth/me").status_code for _ in range(100)}
    # then all are refused and one row records them
    assert statuses == {429}
    record = AbuseRecord.objects.get()
    assert (record.rule, record.subject, record.ip) == (
        "ip_weight",
        "ip:198.51.100.9",
        "198.51.100.9",
    )
    assert record.endpoint == "GET api-me"
    assert record.user is None
    assert 64 <= record.count <= 100  # written on the 1st, 2nd, 4th ... 64th refusal
    assert record.first_seen <= record.last_seen
    assert record.window_start.timestamp() % 60 == 0


@override_settings(RATE_LIMIT_USER_WEIGHT_PER_MINUTE=3)
def test_a_users_refusals_name_the_user_and_show_in_admin_filtered_by_rule(db) -> None:
    # given a user refused past its budget, and an admin
    _clear_of_window_end()
    abuser = UserFactory.create(username="greedy")
    client = _bearer(abuser)
    for _ in range(5):
        client.get("/api/v1/auth/me")
    admin = User.objects.create_superuser(
        "boss", "boss@example.com", "a long admin password", handle="boss"
    )
    browser = Client()
    browser.force_login(admin)
    # when the admin lists the abuse log, filtered by rule
    by_user = browser.get("/admin/accounts/abuserecord/", {"rule": "user_weight"})
    by_ip = browser.get("/admin/accounts/abuserecord/", {"rule": "ip_weight"})
    # then
    record = AbuseRecord.objects.get()
    assert (record.rule, record.user, record.ip, record.count) == (
        "user_weight",
        abuser,
        "10.0.0.1",
        2,
    )
    assert by_user.status_code == 200
    assert "greedy" in by_user.content.decode()
    assert "greedy" not in by_ip.content.decode()
    assert browser.get(f"/admin/accounts/abuserecord/{record.pk}/change/").status_code == 200


# --- across processes -----------------------------------------------------------------------------


@pytest.fixture
def two_web_processes(django_db_setup) -> Iterator[list[int]]:
    """Two uvicorn processes of the app sharing Redis, with an address budget of 20 a minute."""
    ports = [free_port(), free_port()]
    env = process_env(RATE_LIMIT_IP_WEIGHT_PER_MINUTE="20")
    # S603: our own interpreter running uvicorn on the project's ASGI app.
    webs = [
        subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "uvicorn",
                "tradehive.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for port in ports
    ]
    try:
        for port in ports:
            wait_for_port(port, timeout=30)
        yield ports
    finally:
        for web in webs:
            stop(web)


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_budget_holds_across_web_processes(two_web_processes: list[int]) -> None:
    _clear_of_window_end()
    # when one address sends 40 requests, alternating between the two processes
    statuses = []
    for index in range(40):
        port = two_web_processes[index % 2]
        statuses.append(
            httpx.get(f"http://127.0.0.1:{port}/api/v1/auth/me", timeout=10).status_code
        )
    health = httpx.get(f"http://127.0.0.1:{two_web_processes[0]}/healthz", timeout=10)
    # then 20 went through (401: no credentials) in all, not 20 per process
    assert statuses == [401] * 20 + [429] * 20
    assert health.status_code == 200


@pytest.fixture
def redis_unreachable(settings) -> Iterator[None]:
    """The process's Redis client pointed at a port nothing listens on, for one test."""
    from accounts import request_limits
    from tradehive.redis_client import get_redis

    settings.ENGINE_REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    get_redis.cache_clear()
    request_limits._script.cache_clear()
    yield
    get_redis.cache_clear()
    request_limits._script.cache_clear()


def test_requests_go_through_unlimited_when_redis_is_unreachable(db, redis_unreachable) -> None:
    # when an anonymous request comes while the budgets cannot be read
    answer = Client().get("/api/v1/auth/me")
    # then it is answered as usual, without budget headers, rather than refused for everyone
    assert answer.status_code == 401
    assert "X-RateLimit-Limit" not in answer


@pytest.mark.django_db
def test_the_limiter_and_authentication_check_a_request_token_once() -> None:
    # given a request bearing a valid access token, and another user's token
    mine = token_pair_issue(user=UserFactory.create())["access"]
    theirs = token_pair_issue(user=UserFactory.create())["access"]
    request = RequestFactory().get("/api/v1/orders", HTTP_AUTHORIZATION=f"Bearer {mine}")
    # when the rate limiter and then DRF's authentication ask for it
    first = access_token_validated(request, mine)
    second = access_token_validated(request, mine)
    # then the second is the first (checked once), and another token is checked on its own
    assert second is first
    assert access_token_validated(request, theirs) is not first
    with pytest.raises(TokenError):
        access_token_validated(request, mine[:-2] + "xx")


def test_a_signed_request_is_charged_to_the_keys_owner(user: User, settings, redis_client) -> None:
    # given a key and a request validly signed with it
    key, secret = api_key_create(user=user, label="bot", permissions=["read"])
    # when
    answer = SignedClient(key.key, secret).get("/api/v1/wallet/balances")
    # then the user's budget pays (and the signature, checked by the limiter, is not "replayed"
    # when DRF authenticates the same request)
    assert answer.status_code == 200, answer.content
    limit = settings.RATE_LIMIT_USER_WEIGHT_PER_MINUTE
    assert answer["X-RateLimit-Limit"] == str(limit)
    assert answer["X-RateLimit-Remaining"] == str(limit - WEIGHTS[("wallet-balances", "GET")])


def test_a_badly_signed_request_is_charged_to_the_address(user: User, settings) -> None:
    key, _ = api_key_create(user=user, label="bot", permissions=["read"])
    answer = SignedClient(key.key, "not-the-secret").get("/api/v1/wallet/balances")
    assert answer.status_code == 401
    assert answer["X-RateLimit-Limit"] == str(settings.RATE_LIMIT_IP_WEIGHT_PER_MINUTE)
