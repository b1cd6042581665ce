"""API request budgets: per client address and per user, weighted by endpoint, in Redis.

Every request under ``/api/`` (and the Binance-compatible ``/sapi/``) costs its endpoint's
weight (``WEIGHTS``; 1 when not listed), as the big exchanges count "request weight": a ticker
read is cheap, a full list or the schema is dear. Three budgets, each a fixed window aligned to
the clock:

- ``ip_weight``: ``RATE_LIMIT_IP_WEIGHT_PER_MINUTE`` per client address (anonymous requests and
  401s count too; one address may carry several users);
- ``user_weight``: ``RATE_LIMIT_USER_WEIGHT_PER_MINUTE`` per authenticated user, whatever the
  address;
- ``user_orders``: ``RATE_LIMIT_USER_ORDERS_PER_10S`` order placements per user.

One Lua call (``lua/weight_window.lua``) checks and charges all the request's budgets at once,
so the budgets hold across every web process. A refused request is not charged and gets 429
``rate_limited`` with ``Retry-After``; every API answer carries ``X-RateLimit-Limit``,
``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (seconds until the window ends) for its
weight budget (the user's when authenticated), and order placements ``X-RateLimit-Orders-*``.
Refusals are recorded in ``AbuseRecord``, one row per rule, subject and window.

If Redis cannot be reached the request is let through (logged): the engine needs Redis anyway,
and an outage must not become a 429 for everyone."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import redis
from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings

from accounts.api_keys import HEADER, signed_key_for_request
from accounts.authentication import access_token_validated
from accounts.models import AbuseRecord
from tradehive.client_ip import client_ip
from tradehive.errors import DomainError
from tradehive.exceptions import envelope, is_binance_path
from tradehive.redis_client import get_redis

logger = logging.getLogger(__name__)

LUA = Path(__file__).resolve().parent / "lua" / "weight_window.lua"

# (URL name, method) -> weight. Reads of one small thing cost 1 (the default); lists, whole-book
# reads and anything that scans a user's history cost more; credentials cost more so guessing is
# dear on top of the login lockout. Order placements also spend the user_orders budget.
WEIGHTS: dict[tuple[str, str], int] = {
    ("schema", "GET"): 50,
    ("swagger-ui", "GET"): 5,
    ("api-register", "POST"): 10,
    ("api-token", "POST"): 10,
    ("api-token-refresh", "POST"): 5,
    ("api-password", "POST"): 10,
    ("api-mfa-setup", "POST"): 5,
    ("markets-list", "GET"): 2,
    ("markets-tickers", "GET"): 4,
    ("markets-trades", "GET"): 2,
    ("markets-depth", "GET"): 5,
    ("markets-candles", "GET"): 2,
    ("markets-indicators", "GET"): 5,
    ("orders", "GET"): 10,
    ("orders", "DELETE"): 5,
    ("fills", "GET"): 10,
    ("wallet-balances", "GET"): 5,
    ("wallet-ledger", "GET"): 10,
    ("wallet-deposits", "GET"): 5,
    ("wallet-deposits", "POST"): 5,
    ("wallet-withdrawals", "GET"): 5,
    ("wallet-withdrawals", "POST"): 5,
    ("copy-leaders", "GET"): 5,
    ("copy-subscriptions", "GET"): 10,
    ("copy-subscriptions", "POST"): 10,
    ("copy-subscription-copies", "GET"): 10,
    ("notifications", "GET"): 2,
    # The Binance-compatible API (binance_compat), weighted as Binance weighs them.
    ("binance-exchange-info", "GET"): 20,
    ("binance-depth", "GET"): 5,
    ("binance-ticker-24hr", "GET"): 4,
    ("binance-account", "GET"): 20,
    ("binance-open-orders", "GET"): 6,
    ("binance-all-orders", "GET"): 20,
    ("binance-my-trades", "GET"): 20,
    ("binance-capital-config", "GET"): 10,
}
ORDER_PLACEMENTS = {("orders", "POST"), ("binance-order", "POST")}


@dataclass(frozen=True)
class Budget:
    rule: str
    subject: str
    cost: int
    limit: int
    window_s: int

    def window_index(self, now: float) -> int:
        return int(now // self.window_s)

    def reset_in(self, now: float) -> float:
        """Seconds until this window ends."""
        return (self.window_index(now) + 1) * self.window_s - now


@dataclass(frozen=True)
class Verdict:
    budgets: list[Budget]
    used: list[int]
    refused: Budget | None
    refusals: int
    now: float


@lru_cache(maxsize=1)
def _script() -> Callable[..., list[int]]:
    return get_redis().register_script(LUA.read_text())


def budgets_charge(budgets: list[Budget], *, now: float) -> Verdict:
    """Check and charge ``budgets`` in one Redis round trip (nothing is charged when one has no
    room). Raises ``redis.RedisError`` when Redis cannot be reached."""
    # One hash tag for every budget: the script reads and charges several (the address's and the
    # user's) at once, which on a Redis Cluster must stay in one slot (docs/scaling.md).
    keys = [f"ratelimit:{{budgets}}:{b.rule}:{b.subject}:{b.window_index(now)}" for b in budgets]
    args: list[int] = [len(budgets)]
    for budget in budgets:
        ttl_ms = math.ceil(budget.reset_in(now) * 1000) + 1000  # slack for clocks apart
        args += [budget.cost, budget.limit, ttl_ms]
    answer = [int(x) for x in _script()(keys=keys + [f"{k}:refused" for k in keys], args=args)]
    refused_index, refusals, used = answer[0], answer[1], answer[2:]
    refused = budgets[refused_index - 1] if refused_index else None
    return Verdict(budgets=budgets, used=used, refused=refused, refusals=refusals, now=now)


def _user_id(request: HttpRequest) -> int | None:
    """The user a request is made for: the user id of a valid Bearer JWT (signature and expiry
    checked, no query; DRF authenticates it fully later), else the owner of the API key it is
    validly signed with (the check is kept on the request for DRF), else the session's."""
    if request.META.get(HEADER) is not None:
        try:
            key = signed_key_for_request(request)
        except DomainError:  # refused (or not checkable): the address's budget pays
            return None
        return key.user_id if key is not None else None
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, raw = header.partition(" ")
    if scheme in jwt_settings.AUTH_HEADER_TYPES and raw:
        try:
            user_id = access_token_validated(request, raw.strip()).get(jwt_settings.USER_ID_CLAIM)
        except TokenError:
            return None
        return int(user_id) if isinstance(user_id, int | str) and str(user_id).isdigit() else None
    session = getattr(request, "session", None)
    if session is None:
        return None
    user_id = session.get("_auth_user_id")
    return int(user_id) if user_id is not None and str(user_id).isdigit() else None


def request_budgets(
    *, url_name: str | None, method: str, ip: str | None, user_id: int | None
) -> list[Budget]:
    """The budgets a request spends, the one its headers report first."""
    weight = WEIGHTS.get((url_name or "", method), 1)
    budgets: list[Budget] = []
    if user_id is not None:
        budgets.append(
            Budget(
                "user_weight",
                f"user:{user_id}",
                weight,
                settings.RATE_LIMIT_USER_WEIGHT_PER_MINUTE,
                60,
            )
        )
    if ip:
        budgets.append(
            Budget("ip_weight", f"ip:{ip}", weight, settings.RATE_LIMIT_IP_WEIGHT_PER_MINUTE, 60)
        )
    if user_id is not None and (url_name, method) in ORDER_PLACEMENTS:
        budgets.append(
            Budget("user_orders", f"user:{user_id}", 1, settings.RATE_LIMIT_USER_ORDERS_PER_10S, 10)
        )
    return budgets


def _record_refusal(
    verdict: Verdict, *, user_id: int | None, ip: str | None, endpoint: str
) -> None:
    """Upsert the window's ``AbuseRecord``. Written on the 1st, 2nd, 4th ... 64th refusal and
    every 64th after, so a flood costs the database a few writes a window, not one a request;
    ``count`` is the window's refusals as of the last write."""
    refusals = verdict.refusals
    if not (refusals & (refusals - 1) == 0 and refusals <= 64) and refusals % 64:
        return
    budget = verdict.refused
    assert budget is not None
    seen = datetime.fromtimestamp(verdict.now, tz=UTC)
    window_start = datetime.fromtimestamp(
        budget.window_index(verdict.now) * budget.window_s, tz=UTC
    )
    row = AbuseRecord(
        rule=budget.rule,
        subject=budget.subject,
        user_id=user_id,
        ip=ip,
        endpoint=endpoint[:120],
        window_start=window_start,
        count=refusals,
        first_seen=seen,
        last_seen=seen,
    )
    try:
        AbuseRecord.objects.bulk_create(
            [row],
            update_conflicts=True,
            unique_fields=["rule", "subject", "window_start"],
            update_fields=["count", "last_seen", "endpoint", "user", "ip"],
        )
    except DatabaseError:
        logger.exception("rate limit: could not record the refusal of %s", budget.subject)


def _headers(response: HttpResponse, verdict: Verdict) -> None:
    """``X-RateLimit-*`` for the weight budget (the refused one, when a weight budget refused),
    ``X-RateLimit-Orders-*`` for the order budget of a placement."""
    weight = verdict.budgets[0]
    if verdict.refused is not None and verdict.refused.rule != "user_orders":
        weight = verdict.refused
    for index, budget in enumerate(verdict.budgets):
        if budget is not weight and budget.rule != "user_orders":
            continue
        remaining = 0 if budget is verdict.refused else max(0, budget.limit - verdict.used[index])
        prefix = "X-RateLimit-Orders-" if budget.rule == "user_orders" else "X-RateLimit-"
        response[f"{prefix}Limit"] = str(budget.limit)
        response[f"{prefix}Remaining"] = str(remaining)
        response[f"{prefix}Reset"] = str(math.ceil(budget.reset_in(verdict.now)))


class RequestLimitMiddleware:
    """Charges every ``/api/`` request to its budgets; 429 when one has no room."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith(("/api/", "/sapi/")):
            return self.get_response(request)
        try:
            url_name = resolve(request.path_info).url_name
        except Resolver404:
            url_name = None
        ip, user_id = client_ip(request), _user_id(request)
        budgets = request_budgets(
            url_name=url_name, method=request.method or "GET", ip=ip, user_id=user_id
        )
        if not budgets:
            return self.get_response(request)
        now = time.time()
        try:
            verdict = budgets_charge(budgets, now=now)
        except redis.RedisError:
            logger.warning("rate limit: Redis unavailable, %s let through", request.path_info)
            return self.get_response(request)

        if verdict.refused is not None:
            endpoint = f"{request.method} {url_name or request.path_info}"
            _record_refusal(verdict, user_id=user_id, ip=ip, endpoint=endpoint)
            retry_after = max(1, math.ceil(verdict.refused.reset_in(now)))
            message = f"Too many requests ({verdict.refused.rule}); try again in {retry_after} s."
            body = (
                {"code": -1003, "msg": message}
                if is_binance_path(request.path_info)  # Binance's "too much request weight"
                else envelope("rate_limited", message)
            )
            response: HttpResponse = JsonResponse(body, status=429)
            response["Retry-After"] = str(retry_after)
        else:
            response = self.get_response(request)
        _headers(response, verdict)
        return response
