"""Pushes of market data that changed: candles (``candles:SYM:interval``), to the channels
someone listens to. Trades and depth are pushed by settlement's batch push and the coalescer."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime
from typing import Any

from django.utils import timezone

from markets.intervals import INTERVALS
from markets.models import TradingPair
from markets.payloads import CandleOut
from markets.selectors import candle_list_since
from tradehive.money import epoch_ms
from tradehive.push import (
    Message,
    Runner,
    group_for,
    groups_listened,
    push_message,
    run_sync,
    send_many,
)

logger = logging.getLogger(__name__)


def candle_groups(symbol: str) -> list[str]:
    """The push groups of every candle interval of ``symbol``."""
    return [group_for(f"candles:{symbol}:{interval}") for interval in INTERVALS]


def candle_messages(
    *, pair: TradingPair, since: dict[str, datetime], now_ms: int, listened: set[str]
) -> list[Message]:
    """The candles of ``pair`` opening at or after ``since[interval]``, one message per listened
    ``candles:SYM:interval`` channel."""
    symbol = pair.symbol
    wanted = {
        i: start for i, start in since.items() if group_for(f"candles:{symbol}:{i}") in listened
    }
    if not wanted:
        return []
    by_interval: dict[str, list[Any]] = defaultdict(list)
    for candle in candle_list_since(pair=pair, since=wanted):
        by_interval[candle.interval].append(candle)
    return [
        push_message(
            f"candles:{symbol}:{interval}",
            CandleOut(rows, many=True, context={"pair": pair}).data,
            now_ms,
        )
        for interval, rows in by_interval.items()
    ]


def publish_candles(
    *, since_by_symbol: dict[str, dict[str, datetime]], run: Runner = run_sync
) -> int:
    """Push candles that changed outside settlement (a feed market's candles follow its price
    window: ``feeds.market_data.feed_candles_roll``) to the ``candles:SYM:interval`` channels
    someone listens to. ``since_by_symbol[symbol][interval]``: the earliest bucket that changed.
    One pipelined listener check for all of them; markets are read only for listened channels.
    Returns the number of messages sent. Failures are logged, not raised (the candles are
    committed; clients resync from REST)."""
    groups = [
        group_for(f"candles:{symbol}:{interval}")
        for symbol, since in since_by_symbol.items()
        for interval in since
    ]
    if not groups:
        return 0
    try:
        listened = run(groups_listened(groups))
        if not listened:
            return 0
        symbols = {
            symbol
            for symbol, since in since_by_symbol.items()
            if any(group_for(f"candles:{symbol}:{i}") in listened for i in since)
        }
        now_ms = epoch_ms(timezone.now())
        messages: list[Message] = []
        for pair in TradingPair.objects.select_related("base", "quote").filter(symbol__in=symbols):
            messages += candle_messages(
                pair=pair, since=since_by_symbol[pair.symbol], now_ms=now_ms, listened=listened
            )
        send_many(messages, run=run)
        return len(messages)
    except Exception:  # a push is best effort: the roll-up already committed the candles
        logger.exception("candle push failed")
        return 0
