"""Brute-force protection: fixed-window failure counters in Redis.

A login is refused (429 with ``Retry-After``) once an account or a client address has had
``LOGIN_FAILURES_PER_ACCOUNT`` / ``LOGIN_FAILURES_PER_IP`` failures within
``LOGIN_FAILURE_WINDOW_SECONDS``. The window starts at the first failure; a successful login
clears the account's counter (not the address's, so one good account cannot launder guesses
against others). Counters live in Redis so every web process shares them, and so a failure stays
counted when the request's database transaction rolls back.

One-time codes have their own per-user counter (``OTP_FAILURES_PER_USER`` per
``OTP_FAILURE_WINDOW_SECONDS``), shared by every place that asks for a code (sign-in, MFA
confirm and disable, withdrawals, closing the account): once it is full, every code is refused
with 429, the right one too, until the window ends. A success does not clear it, so the owner
using the app does not refill an attacker's guesses.

Addresses come from ``tradehive.client_ip``, which believes ``X-Forwarded-For`` only from
``TRUSTED_PROXIES``.

Every counter's key carries the hash tag ``{login}``: one failure counts on the account's and the
address's counters in one script call (``lua/failure_count.lua``), which on a Redis Cluster must
stay in one slot (docs/scaling.md)."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import redis
from django.conf import settings

from tradehive.errors import RateLimited, ServiceUnavailable
from tradehive.redis_client import get_redis

REGISTRATIONS_PER_IP_PER_HOUR = 20

FAILURE_COUNT_LUA = Path(__file__).resolve().parent / "lua" / "failure_count.lua"
# The hash tag of every counter here (one Redis Cluster slot; see the module docstring).
TAG = "{login}"


@lru_cache(maxsize=1)
def _failure_count() -> Callable[..., Any]:
    return get_redis().register_script(FAILURE_COUNT_LUA.read_text())


def _account_key(username: str) -> str:
    return f"ratelimit:{TAG}:account:{username.strip().lower()[:150]}"


def _ip_key(ip: str) -> str:
    return f"ratelimit:{TAG}:ip:{ip}"


def _limits(*, username: str, ip: str | None) -> list[tuple[str, int]]:
    limits = [(_account_key(username), settings.LOGIN_FAILURES_PER_ACCOUNT)]
    if ip:
        limits.append((_ip_key(ip), settings.LOGIN_FAILURES_PER_IP))
    return limits


def _refuse_if_over(
    limits: list[tuple[str, int]], message: str = "Too many failed attempts; try again later."
) -> None:
    """Raise ``RateLimited`` when any counter has reached its limit."""
    try:
        pipe = get_redis().pipeline(transaction=False)
        for key, _limit in limits:
            pipe.get(key)
            pipe.ttl(key)
        answers = pipe.execute()
    except redis.RedisError as exc:
        # Fail closed: without counters, password guessing would be unbounded.
        raise ServiceUnavailable("Sign-in is unavailable right now; try again shortly.") from exc
    for index, (_key, limit) in enumerate(limits):
        count, ttl = answers[2 * index], answers[2 * index + 1]
        if count is not None and int(count) >= limit:
            retry_after = ttl if ttl and ttl > 0 else 1
            raise RateLimited(message.format(seconds=retry_after), retry_after=retry_after)


def _count(keys: list[str], window: int) -> None:
    try:
        _failure_count()(keys=keys, args=[window])
    except redis.RedisError as exc:
        raise ServiceUnavailable("Sign-in is unavailable right now; try again shortly.") from exc


def login_throttle_check(*, username: str, ip: str | None) -> None:
    """Raise 429 ``rate_limited`` when the account or the address is locked out."""
    _refuse_if_over(_limits(username=username, ip=ip))


def login_failure_note(*, username: str, ip: str | None) -> None:
    """Count one failed login (wrong password or wrong one-time code)."""
    keys = [key for key, _limit in _limits(username=username, ip=ip)]
    _count(keys, settings.LOGIN_FAILURE_WINDOW_SECONDS)


def login_failures_clear(*, username: str) -> None:
    try:
        get_redis().delete(_account_key(username))
    except redis.RedisError as exc:
        raise ServiceUnavailable() from exc


def registration_throttle_hit(*, ip: str | None) -> None:
    """Count one registration from ``ip``; raise 429 past the hourly limit."""
    if not ip:
        return
    limits = [(f"ratelimit:{TAG}:register:ip:{ip}", REGISTRATIONS_PER_IP_PER_HOUR)]
    _refuse_if_over(limits)
    _count([limits[0][0]], 3600)


def _otp_key(user_id: int) -> str:
    return f"ratelimit:{TAG}:otp:user:{user_id}"


def otp_throttle_check(*, user_id: int) -> None:
    """Raise 429 ``rate_limited`` while the user's one-time codes are locked out."""
    _refuse_if_over(
        [(_otp_key(user_id), settings.OTP_FAILURES_PER_USER)],
        "Too many attempts; try again in {seconds} s.",
    )


def otp_failure_note(*, user_id: int) -> None:
    """Count one refused one-time code of the user (wrong, replayed, or sent while throttled)."""
    _count([_otp_key(user_id)], settings.OTP_FAILURE_WINDOW_SECONDS)
