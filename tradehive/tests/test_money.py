from decimal import Decimal

import pytest

from tradehive.money import DecimalParseError, format_decimal, iso_ms, parse_decimal


@pytest.mark.parametrize("raw", ["1", "0.5", "123.456", "100000000", "007", "1.50"])
def test_parse_accepts_plain_positive_decimals(raw: str) -> None:
    assert parse_decimal(raw) == Decimal(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "-1",
        "0",
        "0.000",
        "NaN",
        "nan",
        "Infinity",
        "-Infinity",
        "1e5",
        "1E-3",
        "",
        " ",
        "1,5",
        "+1",
        "0x10",
        "1.2.3",
        1,
        1.5,
        None,
        True,
        [],
        {},
        # the grammar is ASCII [0-9]+(.[0-9]+)? matched whole: no whitespace anywhere, no digits of
        # other scripts (Decimal() reads "1\u0660\u0660" as 100), no bare point on either side
        " 100 ",
        "100\n",
        "\t1",
        "1 000",
        "1\u0660\u0660",
        "\u0661\u0660\u0660",
        "\uff11\uff10\uff10",
        "1.\u0665",
        ".5",
        "5.",
        "1_000",
        "1" * 81,
    ],
)
def test_parse_refuses_anything_else(raw: object) -> None:
    with pytest.raises(DecimalParseError):
        parse_decimal(raw)


def test_parse_enforces_places_and_maximum() -> None:
    assert parse_decimal("1.2300", max_places=2) == Decimal("1.23")  # trailing zeros are free
    with pytest.raises(DecimalParseError, match="decimal places"):
        parse_decimal("1.234", max_places=2)
    with pytest.raises(DecimalParseError, match="at most"):
        parse_decimal("1000000000000000000001", max_value=Decimal("1e18"))
    with pytest.raises(DecimalParseError, match="Too many digits"):
        parse_decimal("1." + "1" * 40)


def test_format_and_timestamps() -> None:
    from datetime import UTC, datetime

    assert format_decimal(Decimal("1E+3")) == "1000"
    assert format_decimal(Decimal("1.5"), 8) == "1.50000000"
    assert iso_ms(datetime(2026, 11, 21, 9, 0, 0, 123456, tzinfo=UTC)) == "2026-11-21T09:00:00.123Z"


def test_amounts_for_people_are_grouped_by_thousands() -> None:
    from tradehive.money import format_amount

    # given values of every size and sign; when formatted for a person; then digits group
    assert format_amount(Decimal("1234567.5"), 2) == "1,234,567.50"
    assert format_amount(Decimal("0.01"), 8) == "0.01000000"
    assert format_amount(Decimal("-95640000"), 0) == "-95,640,000"
    assert format_amount(Decimal("999"), 0) == "999"
    assert format_amount(Decimal("1E+3")) == "1,000"


@pytest.mark.parametrize(
    ("typed", "value"),
    [("1,000", "1000"), ("12,345.67", "12345.67"), ("1,000,000", "1000000"), ("100", "100")],
)
def test_typed_amounts_may_group_thousands(typed: str, value: str) -> None:
    from tradehive.money import parse_typed_amount

    # when a person types an amount grouped by thousands; then it reads as that amount
    assert parse_typed_amount(typed) == Decimal(value)


@pytest.mark.parametrize(
    "typed", ["1,00", "1,0000", ",100", "1000,", "1,000,00", "1 000", " 1,000"]
)
def test_typed_amounts_with_irregular_grouping_are_refused(typed: str) -> None:
    from tradehive.money import parse_typed_amount

    # when commas sit outside the thousands' places; then it is refused, not guessed
    with pytest.raises(DecimalParseError):
        parse_typed_amount(typed)
