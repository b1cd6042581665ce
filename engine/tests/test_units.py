"""Decimal <-> engine integers: exact or refused."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from engine.units import (
    MAX_ENGINE_INT,
    OffGrid,
    OutOfEngineRange,
    lots_to_quantity,
    price_to_ticks,
    quantity_to_lots,
    quote_to_units,
    quote_to_units_ceil,
    ticks_to_price,
    units_to_quote,
)


def test_values_on_the_grid_convert_exactly_both_ways() -> None:
    # given
    tick, lot = D("0.5"), D("0.0001")

    # when
    ticks = price_to_ticks(D("50000000.5"), tick)
    lots = quantity_to_lots(D("1.2345"), lot)
    units = quote_to_units(D("10000"), tick, lot)

    # then
    assert (ticks, lots, units) == (100000001, 12345, 200000000)
    assert ticks_to_price(ticks, tick) == D("50000000.5")
    assert lots_to_quantity(lots, lot) == D("1.2345")
    assert units_to_quote(ticks * lots, tick, lot) == D("50000000.5") * D("1.2345")


@pytest.mark.parametrize(
    "value", [D("1.00001"), D("0"), D("-1"), D("NaN"), D("Infinity"), D("1E+40")]
)
def test_off_grid_or_out_of_range_values_are_refused_not_rounded(value: D) -> None:
    # when / then
    with pytest.raises(OffGrid):
        quantity_to_lots(value, D("0.0001"))


def test_floats_are_refused() -> None:
    # when / then
    with pytest.raises(TypeError):
        price_to_ticks(0.1, D("0.1"))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ticks_to_price(1.0, D("0.1"))  # type: ignore[arg-type]


def test_a_long_tick_times_many_ticks_does_not_round() -> None:
    # given
    tick = D("0.123456789012345")

    # when
    price = ticks_to_price(2**53 - 1, tick)

    # then
    # the default 28-digit context would round this 31-digit product; the exact value:
    assert price == D(f"{(2**53 - 1) * 123456789012345}E-15")
    assert price_to_ticks(price, tick) == 2**53 - 1


@pytest.mark.parametrize("value", [D(MAX_ENGINE_INT + 1), D("1E+40")])
def test_values_beyond_2_pow_53_steps_are_out_of_range(value: D) -> None:
    # when / then: a distinct code from off-grid values
    with pytest.raises(OutOfEngineRange) as refused:
        price_to_ticks(value, D(1))
    assert refused.value.code == "out_of_range"


def test_the_last_integer_a_double_holds_converts() -> None:
    assert price_to_ticks(D(MAX_ENGINE_INT), D(1)) == MAX_ENGINE_INT


def test_a_notional_off_the_grid_rounds_up_to_whole_quote_units() -> None:
    assert quote_to_units_ceil(D("1.0000001"), D("0.01"), D("0.0001")) == 1000001
    assert quote_to_units_ceil(D("1"), D("0.01"), D("0.0001")) == 1000000
