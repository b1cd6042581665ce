"""Query parameters of the market-data endpoints, validated into 400 ``invalid_input``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from markets.intervals import INTERVALS
from tradehive.api_fields import WholeNumber
from tradehive.money import DecimalParseError, parse_decimal

MAX_CANDLES = 1000
DEFAULT_CANDLES = 500
MAX_TRADES = 1000
DEFAULT_TRADES = 100
MAX_PERIOD = 500
MAX_PERIODS_PER_INDICATOR = 5
MAX_BOLLINGER_K = Decimal(10)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_EPOCH_MS = 253402300799999  # 9999-12-31T23:59:59.999Z
# ASCII digits only: str.isdigit() and int() also take other scripts' digits ("١٢") and, past
# 4300 digits, int() raises instead of answering.
_EPOCH_MS = re.compile(r"[0-9]{1,15}")
_PERIOD = re.compile(r"[0-9]{1,3}")


@extend_schema_field(
    {
        "type": "string",
        "example": "2026-11-21T09:00:00Z",
        "description": "ISO 8601 time or epoch milliseconds",
    }
)
class TimeParam(serializers.Field):
    """ISO 8601 (``2026-11-21T09:00:00Z``, an offset, or naive = UTC) or epoch milliseconds."""

    default_error_messages = {
        "invalid": "Must be an ISO 8601 time (2026-11-21T09:00:00Z) or epoch milliseconds."
    }

    def to_internal_value(self, data: Any) -> datetime:
        if not isinstance(data, str) or not data.isascii():
            self.fail("invalid")
        text = data
        if _EPOCH_MS.fullmatch(text):
            milliseconds = int(text)
            if milliseconds > _MAX_EPOCH_MS:
                self.fail("invalid")
            return _EPOCH + timedelta(milliseconds=milliseconds)
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            self.fail("invalid")
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        try:
            return moment.astimezone(UTC)
        except OverflowError:  # 0001-01-01T00:00+05:00 is before year 1 in UTC
            self.fail("invalid")
            raise  # pragma: no cover - fail() raises

    def to_representation(self, value: datetime) -> str:  # pragma: no cover - input only
        return value.isoformat()


@extend_schema_field(
    {
        "type": "string",
        "example": "20,50",
        "description": "1 to 5 comma-separated periods, each 1..500",
    }
)
class PeriodsParam(serializers.Field):
    """``20`` or ``20,50``: whole numbers 1..500, at most five."""

    def to_internal_value(self, data: Any) -> list[int]:
        parts = str(data).split(",")
        if not parts or len(parts) > MAX_PERIODS_PER_INDICATOR:
            raise serializers.ValidationError(
                f"Give 1 to {MAX_PERIODS_PER_INDICATOR} comma-separated periods."
            )
        periods = []
        for part in parts:
            if not _PERIOD.fullmatch(part) or not 1 <= int(part) <= MAX_PERIOD:
                raise serializers.ValidationError(
                    f"Each period must be a whole number from 1 to {MAX_PERIOD}."
                )
            if int(part) not in periods:
                periods.append(int(part))
        return periods

    def to_representation(self, value: list[int]) -> str:  # pragma: no cover - input only
        return ",".join(map(str, value))


@extend_schema_field({"type": "string", "example": "20,2", "description": "period,k"})
class BollingerParam(serializers.Field):
    """``period,k`` (``20,2``); ``k`` defaults to 2: a positive decimal up to 10."""

    def to_internal_value(self, data: Any) -> tuple[int, Decimal]:
        parts = str(data).split(",")
        if len(parts) > 2:
            raise serializers.ValidationError("Use period,k, e.g. 20,2.")
        period_text = parts[0]
        if not _PERIOD.fullmatch(period_text) or not 1 <= int(period_text) <= MAX_PERIOD:
            raise serializers.ValidationError(
                f"The period must be a whole number from 1 to {MAX_PERIOD}."
            )
        k = Decimal(2)
        if len(parts) == 2:
            try:
                k = parse_decimal(parts[1], max_value=MAX_BOLLINGER_K)
            except DecimalParseError as exc:
                raise serializers.ValidationError(f"k: {exc}") from None
        return int(period_text), k

    def to_representation(self, value: tuple[int, Decimal]) -> str:  # pragma: no cover
        return f"{value[0]},{value[1]}"


class TradesQuery(serializers.Serializer):
    limit = WholeNumber(min_value=1, max_value=MAX_TRADES, default=DEFAULT_TRADES)


class CandlesQuery(serializers.Serializer):
    interval = serializers.ChoiceField(choices=INTERVALS, default="1m")
    start = TimeParam(required=False)
    end = TimeParam(required=False)
    limit = WholeNumber(min_value=1, max_value=MAX_CANDLES, default=DEFAULT_CANDLES)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("start"), attrs.get("end")
        if start is not None and end is not None and start > end:
            raise serializers.ValidationError({"start": ["Must not be after end."]})
        return attrs


class IndicatorsQuery(CandlesQuery):
    interval = serializers.ChoiceField(choices=INTERVALS, default="1h")
    sma = PeriodsParam(required=False)
    ema = PeriodsParam(required=False)
    bollinger = BollingerParam(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        if not any(name in attrs for name in ("sma", "ema", "bollinger")):
            raise serializers.ValidationError(
                {"sma": ["Ask for at least one of sma, ema, bollinger."]}
            )
        return attrs
