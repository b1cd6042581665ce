"""Indicator math on a series of closes, in Decimal. Pure: no Django, no I/O.

Each function returns one value per input close, ``None`` where the period is longer than the
data seen so far (never an error).
- SMA(n): mean of the last n closes.
- EMA(n): seeded with SMA(n) at the n-th close, then ``ema = close * a + ema_prev * (1 - a)``
  with ``a = 2 / (n + 1)``.
- Bollinger(n, k): middle SMA(n), upper/lower middle +- k x the *population* standard deviation
  of the last n closes (divide by n, as TradingView and the big exchanges do)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Context, Decimal, localcontext

# Prices up to 10^20 with 18 decimals stay exact through sums; divisions round at 50 digits.
_CONTEXT = Context(prec=50)

Series = list[Decimal | None]


def sma(closes: Sequence[Decimal], period: int) -> Series:
    _check_period(period)
    out: Series = []
    with localcontext(_CONTEXT):
        window_sum = Decimal(0)
        for index, close in enumerate(closes):
            window_sum += close
            if index >= period:
                window_sum -= closes[index - period]
            out.append(window_sum / period if index >= period - 1 else None)
    return out


def ema(closes: Sequence[Decimal], period: int) -> Series:
    _check_period(period)
    out: Series = []
    with localcontext(_CONTEXT):
        alpha = Decimal(2) / (period + 1)
        previous: Decimal | None = None
        for index, close in enumerate(closes):
            if index < period - 1:
                out.append(None)
                continue
            if previous is None:
                previous = sum(closes[:period], Decimal(0)) / period
            else:
                previous = close * alpha + previous * (1 - alpha)
            out.append(previous)
    return out


def bollinger(closes: Sequence[Decimal], period: int, k: Decimal) -> tuple[Series, Series, Series]:
    """(middle, upper, lower)."""
    _check_period(period)
    middle: Series = []
    upper: Series = []
    lower: Series = []
    with localcontext(_CONTEXT):
        for index in range(len(closes)):
            if index < period - 1:
                middle.append(None)
                upper.append(None)
                lower.append(None)
                continue
            window = closes[index - period + 1 : index + 1]
            mean = sum(window, Decimal(0)) / period
            variance = sum(((c - mean) ** 2 for c in window), Decimal(0)) / period
            deviation = variance.sqrt()
            middle.append(mean)
            upper.append(mean + k * deviation)
            lower.append(mean - k * deviation)
    return middle, upper, lower


def _check_period(period: int) -> None:
    if period < 1:
        raise ValueError("period must be at least 1")
