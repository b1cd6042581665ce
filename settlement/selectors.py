"""Reads of settlement: how far it trails the engine; the top of a book (from the engine)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from decimal import Decimal

import redis

from engine.keys import events_key
from engine.units import ticks_to_price
from markets.models import TradingPair
from settlement.services import GROUP


def _id_ms(entry_id: str | bytes) -> int:
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return int(text.split("-", 1)[0])


def settlement_lag_ms(*, client: redis.Redis, symbols: Sequence[str]) -> int:
    """Age in ms of the oldest engine event no settlement has acknowledged, over ``symbols``
    (0 when everything is settled). Stream ids start with the ms they were added at, so the
    oldest pending entry (read, not acknowledged) and the oldest undelivered one (after the
    group's last-delivered id) tell it without reading events. Two round trips in all."""
    if not symbols:
        return 0
    pipe = client.pipeline(transaction=False)
    for symbol in symbols:
        pipe.xpending(events_key(symbol), GROUP)
        pipe.xinfo_groups(events_key(symbol))
    answers = pipe.execute(raise_on_error=False)
    pipe = client.pipeline(transaction=False)
    oldest: list[int] = []
    followups = 0
    for symbol, pending, groups in zip(symbols, answers[::2], answers[1::2], strict=True):
        if isinstance(pending, Exception) or isinstance(groups, Exception):
            continue  # no stream or group yet: nothing was ever submitted to this market
        if pending.get("pending"):
            oldest.append(_id_ms(pending["min"]))
        group = next((g for g in groups if g.get("name") in (GROUP, GROUP.encode())), None)
        last = group.get("last-delivered-id") if group else None
        if last is not None:
            pipe.xrange(events_key(symbol), min=f"({_text(last)}", count=1)
            followups += 1
    if followups:
        for entries in pipe.execute(raise_on_error=False):
            if entries and not isinstance(entries, Exception):
                oldest.append(_id_ms(entries[0][0]))
    if not oldest:
        return 0
    return max(0, int(time.time() * 1000) - min(oldest))


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def book_top(pair: TradingPair) -> tuple[Decimal | None, Decimal | None]:
    """The best bid and best ask of ``pair``'s book as prices (None for an empty side), read
    from the engine: what tickers show (registered with ``markets.ticker.set_book_top_provider``
    at start-up)."""
    from engine.runtime import get_engine

    bid, ask = get_engine().best_bid_ask(pair.symbol)
    return (
        None if bid is None else ticks_to_price(bid, pair.tick_size),
        None if ask is None else ticks_to_price(ask, pair.tick_size),
    )
