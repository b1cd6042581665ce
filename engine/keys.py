"""Redis key names of one market's engine state (see engine/lua/lib.lua and docs/engine.md).

Every key carries the hash tag ``{SYMBOL}``: Redis Cluster hashes only the tagged part, so a
market's keys share one slot and each engine script runs on one node."""

from __future__ import annotations

import re

SYMBOL_RE = re.compile(r"^[A-Z0-9]{1,16}-[A-Z0-9]{1,16}$")


def check_symbol(symbol: str) -> str:
    """The symbol, if it is ``BASE-QUOTE`` in upper case (no braces that would break the tag)."""
    if not SYMBOL_RE.match(symbol):
        raise ValueError(f"not a market symbol: {symbol!r}")
    return symbol


def market_keys(symbol: str) -> list[str]:
    """The 14 KEYS every engine script receives, in the order lib.lua numbers them."""
    tag = "{" + check_symbol(symbol) + "}"
    return [
        f"book:{tag}:bids",
        f"book:{tag}:asks",
        f"book:{tag}:bids:levels",
        f"book:{tag}:asks:levels",
        f"book:{tag}:bids:depth",
        f"book:{tag}:asks:depth",
        f"stops:{tag}:buy",
        f"stops:{tag}:sell",
        f"events:{tag}",
        f"seq:{tag}",
        f"epoch:{tag}",
        f"seen:{tag}",
        f"orders:{tag}",
        f"owners:{tag}",
    ]


def events_key(symbol: str) -> str:
    """The market's event stream, which settlement reads with a consumer group."""
    return f"events:{{{check_symbol(symbol)}}}"


def epoch_key(symbol: str) -> str:
    return f"epoch:{{{check_symbol(symbol)}}}"


def seq_key(symbol: str) -> str:
    """The market's last engine sequence (the ``seq`` of its newest event)."""
    return f"seq:{{{check_symbol(symbol)}}}"


# --- price feeds (docs/feeds.md) -----------------------------------------------------------------


def prices_key(symbol: str) -> str:
    """The market's price window: a stream of feed observations (id = received ms)."""
    return f"prices:{{{check_symbol(symbol)}}}"


def feed_stats_key(symbol: str) -> str:
    """Hash of the market's feed bookkeeping: polls, passes, last_poll_ms, last_pass_ms, cursor."""
    return f"feedstats:{{{check_symbol(symbol)}}}"


def feed_lock_key(symbol: str) -> str:
    """Held by a matching pass between its fills and its stop triggers (feed_fill.lua)."""
    return f"feedlock:{{{check_symbol(symbol)}}}"
