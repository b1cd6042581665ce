"""``GET /healthz``: 200 ``{db, redis, engine_lag_ms, feed_age_ms}`` or 503 naming what is down.

With a read replica, ``replica`` (``ok``/``lagging``/``down``) and ``replica_lag_s`` too; a
replica down is no 503: its reads fall back to the primary (tradehive/db_router.py)."""

from __future__ import annotations

import logging
from typing import Any

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from tradehive.db_router import replica_report
from tradehive.redis_client import get_redis

logger = logging.getLogger(__name__)


def check_db() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # any driver error means "down"; the reason goes to the log
        logger.exception("health: database check failed")
        return "down"
    return "ok"


def check_redis() -> str:
    try:
        get_redis().ping()
    except Exception:  # any client error means "down"
        logger.exception("health: redis check failed")
        return "down"
    return "ok"


def check_feed() -> tuple[int | None, str | None]:
    """(age in ms of the stalest feed market's newest price, "ok"/"stale"/None); feeds app."""
    from feeds.selectors import feed_age_ms

    try:
        age, stale = feed_age_ms()
    except Exception:  # a feed read failing must not fail the health check itself
        logger.exception("health: feed age check failed")
        return None, "unknown"
    if age is None and not stale:
        return None, None
    return age, "stale" if stale else "ok"


def check_engine_lag() -> int | None:
    """How far settlement trails the engine (ms), or None when it cannot be read."""
    from markets.selectors import pair_list
    from settlement.selectors import settlement_lag_ms

    try:
        symbols = [pair.symbol for pair in pair_list()]
        return settlement_lag_ms(client=get_redis(), symbols=symbols)
    except Exception:  # a lag read failing must not fail the health check itself
        logger.exception("health: engine lag check failed")
        return None


def health_report() -> dict[str, Any]:
    """Status of each dependency, settlement's lag behind the engine and the feeds' age."""
    feed_age, feed = check_feed()
    report: dict[str, Any] = {
        "db": check_db(),
        "redis": check_redis(),
        "engine_lag_ms": check_engine_lag(),
        "feed_age_ms": feed_age,
        "feed": feed,
    }
    replica, replica_lag = replica_report()
    if replica is not None:
        report.update(replica=replica, replica_lag_s=replica_lag)
    return report


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    report = health_report()
    down = [name for name in ("db", "redis") if report[name] != "ok"]
    if down:
        report["down"] = down
        return JsonResponse(report, status=503)
    return JsonResponse(report)
