"""Binance's symbols (``LPJKRW``) and the project's (``LPJ-KRW``)."""

from __future__ import annotations

from binance_compat.errors import BAD_SYMBOL, BinanceError
from markets.models import TradingPair
from markets.selectors import pair_get, pair_list

# Binance symbol -> the project's. Markets are created, never renamed, so a name once seen stays
# right; an unknown name re-reads the markets (a new market appears at once).
_dashed: dict[str, str] = {}


def binance_symbol(pair: TradingPair) -> str:
    return f"{pair.base.symbol}{pair.quote.symbol}"


def pairs_by_binance_symbol() -> dict[str, TradingPair]:
    """Every market by its Binance symbol, in display order. Two markets whose symbols join to
    the same text (``AB-CKRW`` and ``ABC-KRW``) cannot be told apart without the dash: neither
    is listed."""
    pairs: dict[str, TradingPair] = {}
    clashes: set[str] = set()
    for pair in pair_list():
        name = binance_symbol(pair)
        if name in pairs:
            clashes.add(name)
        pairs[name] = pair
    for name in clashes:
        del pairs[name]
    return pairs


def dashed_symbol(symbol: str) -> str:
    """The project's symbol for a Binance symbol (upper case, no dash); -1121 otherwise."""
    dashed = _dashed.get(symbol)
    if dashed is None and symbol.isascii() and symbol.isalnum() and len(symbol) <= 20:
        for name, pair in pairs_by_binance_symbol().items():
            _dashed[name] = pair.symbol
        dashed = _dashed.get(symbol)
    if dashed is None:
        raise BinanceError(BAD_SYMBOL, "Invalid symbol.")
    return dashed


def pair_for_symbol(symbol: str) -> TradingPair:
    """The market a Binance symbol names, with its assets; -1121 otherwise."""
    return pair_get(symbol=dashed_symbol(symbol))
