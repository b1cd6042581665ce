"""The settlement consumer loop (``python manage.py settle``)."""

from __future__ import annotations

import logging
import os
import socket
import time

from django.db import close_old_connections

from markets.models import TradingPair
from matching.recovery import engine_recover
from matching.settlement import SettlementGap, settle_market, settlement_group_ensure
from tradehive.redis_client import get_redis

logger = logging.getLogger(__name__)


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def settle_forever(*, count: int = 1000, idle_sleep_s: float = 0.01,
                   stop_after_s: float | None = None) -> None:
    """Settle every market's events until stopped. Markets are re-read every few seconds so new
    ones are picked up; a market whose engine state is missing is recovered first."""
    client = get_redis()
    consumer = consumer_name()
    started = time.monotonic()
    pairs: list[TradingPair] = []
    pairs_loaded_at = 0.0
    while stop_after_s is None or time.monotonic() - started < stop_after_s:
        if time.monotonic() - pairs_loaded_at > 5:
            close_old_connections()
            pairs = list(TradingPair.objects.select_related("base", "quote"))
            for pair in pairs:
                settlement_group_ensure(client, pair.symbol)
                engine_recover(pair=pair)
            pairs_loaded_at = time.monotonic()
        busy = False
        for pair in pairs:
            try:
                outcome = settle_market(pair=pair, consumer=consumer, count=count, client=client)
            except SettlementGap:
                logger.warning("settlement of %s waits for earlier events", pair.symbol)
                continue
            busy = busy or outcome.applied > 0
        if not busy:
            time.sleep(idle_sleep_s)
