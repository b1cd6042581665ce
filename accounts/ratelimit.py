"""Brute-force protection: fixed-window failure counters in Redis.

A login is refused (429 with ``Retry-After``) once an account or a client address has had
``LOGIN_FAILURES_PER_ACCOUNT`` / ``LOGIN_FAILURES_PER_IP`` failures within
``LOGIN_FAILURE_WINDOW_SECONDS``. The window starts at the first failure; a successful login
clears the account's counter (not the address's, so one good account cannot launder guesses
against others). Counters live in Redis so every web process shares them."""

from __future__ import annotations

import redis
from django.conf import settings

from tradehive.errors import RateLimited, ServiceUnavailable
from tradehive.redis_client import get_redis

REGISTRATIONS_PER_IP_PER_HOUR = 20


def _account_key(username: str) -> str:
    return f"ratelimit:login:account:{username.strip().lower()[:150]}"


def _ip_key(ip: str) -> str:
    return f"ratelimit:login:ip:{ip}"


def _limits(*, username: str, ip: str | None) -> list[tuple[str, int]]:
    limits = [(_account_key(username), settings.LOGIN_FAILURES_PER_ACCOUNT)]
    if ip:
        limits.append((_ip_key(ip), settings.LOGIN_FAILURES_PER_IP))
    return limits


def _refuse_if_over(limits: list[tuple[str, int]]) -> None:
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
            raise RateLimited("Too many failed attempts; try again later.",
                              retry_after=ttl if ttl and ttl > 0 else 1)


def _count(keys: list[str], window: int) -> None:
    try:
        pipe = get_redis().pipeline(transaction=True)
        for key in keys:
            # SET NX starts the window once; INCR keeps the TTL that SET gave the key.
            pipe.set(key, 0, ex=window, nx=True)
            pipe.incr(key)
        pipe.execute()
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
    limits = [(f"ratelimit:register:ip:{ip}", REGISTRATIONS_PER_IP_PER_HOUR)]
    _refuse_if_over(limits)
    _count([limits[0][0]], 3600)
