"""Indicator math against values worked out by hand."""

from __future__ import annotations

from decimal import Decimal as D
from decimal import localcontext

import pytest

from markets.indicators import bollinger, ema, sma

CLOSES = [D(10), D(14), D(12), D(20)]


def q(value, places: int = 20):
    return None if value is None else value.quantize(D(1).scaleb(-places))


def test_sma() -> None:
    # (10+14)/2=12, (14+12)/2=13, (12+20)/2=16 ; (10+14+12)/3=12, (14+12+20)/3=46/3
    assert sma(CLOSES, 2) == [None, D(12), D(13), D(16)]
    assert [q(v) for v in sma(CLOSES, 3)] == [None, None, D(12), q(D(46) / 3)]
    assert sma(CLOSES, 1) == CLOSES


def test_ema_is_seeded_with_the_sma_then_smoothed() -> None:
    # period 2: a = 2/3; seed = (10+14)/2 = 12; 12*2/3 + 12/3 = 12; 20*2/3 + 12/3 = 52/3
    assert [q(v) for v in ema(CLOSES, 2)] == [None, D(12), D(12), q(D(52) / 3)]
    # period 3: a = 1/2; seed = 12; 20/2 + 12/2 = 16
    assert ema(CLOSES, 3) == [None, None, D(12), D(16)]


def test_bollinger_uses_the_population_standard_deviation() -> None:
    # period 2 windows: [10,14] mean 12 sd 2; [14,12] mean 13 sd 1; [12,20] mean 16 sd 4
    middle, upper, lower = bollinger(CLOSES, 2, D(2))
    assert middle == [None, D(12), D(13), D(16)]
    assert upper == [None, D(16), D(15), D(24)]
    assert lower == [None, D(8), D(11), D(8)]
    # period 4: mean 14, squared deviations 16+0+4+36 = 56, variance 56/4 = 14 (not 56/3)
    middle, upper, lower = bollinger(CLOSES, 4, D("1.5"))
    with localcontext() as ctx:
        ctx.prec = 50
        sd = D(14).sqrt()
    assert middle[3] == D(14)
    assert q(upper[3]) == q(D(14) + D("1.5") * sd)
    assert q(lower[3]) == q(D(14) - D("1.5") * sd)


def test_a_period_longer_than_the_data_gives_nulls_not_errors() -> None:
    assert sma(CLOSES, 5) == [None] * 4
    assert ema(CLOSES, 50) == [None] * 4
    assert bollinger(CLOSES, 500, D(2)) == ([None] * 4, [None] * 4, [None] * 4)
    assert sma([], 3) == []


def test_a_period_below_one_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="period"):
        sma(CLOSES, 0)
