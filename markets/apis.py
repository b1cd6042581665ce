"""Public market REST endpoints under /api/v1/ (API.md "Markets"). No authentication."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from engine.runtime import get_engine
from engine.units import levels_decimal
from markets import indicators
from markets.models import Candle
from markets.params import CandlesQuery, IndicatorsQuery, TradesQuery
from markets.payloads import (
    CandleOut,
    PairOut,
    TickerOut,
    TradeOut,
    book_levels,
    house_quote_payload,
)
from markets.selectors import (
    candle_list,
    candle_list_before,
    house_quote_get,
    pair_get,
    pair_list,
    trade_list,
)
from markets.ticker import ticker_get, ticker_get_many
from tradehive.api_fields import WholeNumber
from tradehive.db_router import reads_replica
from tradehive.money import format_decimal, iso_ms
from tradehive.query_params import query_validate

# Indicator values carry this many decimals more than the market's prices.
INDICATOR_EXTRA_PLACES = 4
# EMA warm-up: candles before the requested range fed in (x the longest period asked for).
WARMUP_PERIODS = 4
# The indicators answer: candle times ``t`` and one series per indicator asked for, with null
# where the series has no value yet.
INDICATOR_SERIES = {
    "type": "object",
    "required": ["t"],
    "properties": {"t": {"type": "array", "items": {"type": "string", "format": "date-time"}}},
    "additionalProperties": {"type": "array", "items": {"type": "string", "nullable": True}},
}


def _query(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    return query_validate(serializer_class, request)


class PublicApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []


class PairListApi(PublicApi):
    @extend_schema(responses=PairOut(many=True), tags=["markets"])
    @reads_replica
    def get(self, request: Request) -> Response:
        return Response(PairOut(pair_list(), many=True).data)


class PairDetailApi(PublicApi):
    @extend_schema(responses=PairOut, tags=["markets"])
    @reads_replica
    def get(self, request: Request, symbol: str) -> Response:
        return Response(PairOut(pair_get(symbol=symbol)).data)


class TickerListApi(PublicApi):
    @extend_schema(responses=TickerOut(many=True), tags=["markets"])
    @reads_replica
    def get(self, request: Request) -> Response:
        return Response(ticker_get_many(pairs=list(pair_list())))


class TickerApi(PublicApi):
    @extend_schema(responses=TickerOut, tags=["markets"])
    @reads_replica
    def get(self, request: Request, symbol: str) -> Response:
        return Response(ticker_get(pair=pair_get(symbol=symbol)))


class TradeListApi(PublicApi):
    @extend_schema(parameters=[TradesQuery], responses=TradeOut(many=True), tags=["markets"])
    @reads_replica
    def get(self, request: Request, symbol: str) -> Response:
        pair = pair_get(symbol=symbol)
        query = _query(TradesQuery, request)
        trades = trade_list(pair=pair, limit=query["limit"])
        return Response(TradeOut(trades, many=True, context={"pair": pair}).data)


class CandleListApi(PublicApi):
    @extend_schema(parameters=[CandlesQuery], responses=CandleOut(many=True), tags=["markets"])
    @reads_replica
    def get(self, request: Request, symbol: str) -> Response:
        pair = pair_get(symbol=symbol)
        query = _query(CandlesQuery, request)
        candles = candle_list(pair=pair, **query)
        return Response(CandleOut(candles, many=True, context={"pair": pair}).data)


class IndicatorsApi(PublicApi):
    @extend_schema(
        parameters=[IndicatorsQuery],
        responses={200: OpenApiResponse(INDICATOR_SERIES, description="series aligned with t")},
        tags=["markets"],
    )
    @reads_replica
    def get(self, request: Request, symbol: str) -> Response:
        pair = pair_get(symbol=symbol)
        query = _query(IndicatorsQuery, request)
        sma_periods: list[int] = query.get("sma", [])
        ema_periods: list[int] = query.get("ema", [])
        bollinger: tuple[int, Decimal] | None = query.get("bollinger")
        candles = candle_list(
            pair=pair,
            interval=query["interval"],
            start=query.get("start"),
            end=query.get("end"),
            limit=query["limit"],
        )
        longest = max([*sma_periods, *ema_periods, bollinger[0] if bollinger else 1])
        warmup: list[Candle] = []
        if candles:
            warmup = candle_list_before(
                pair=pair,
                interval=query["interval"],
                before=candles[0].bucket,
                limit=WARMUP_PERIODS * longest,
            )
        closes = [c.close for c in (*warmup, *candles)]
        skip = len(warmup)
        places = pair.price_places + INDICATOR_EXTRA_PLACES

        def tail(series: list[Decimal | None]) -> list[str | None]:
            return [None if v is None else format_decimal(v, places) for v in series[skip:]]

        body: dict[str, list[Any]] = {"t": [iso_ms(c.bucket) for c in candles]}
        for period in sma_periods:
            body[f"sma_{period}"] = tail(indicators.sma(closes, period))
        for period in ema_periods:
            body[f"ema_{period}"] = tail(indicators.ema(closes, period))
        if bollinger:
            middle, upper, lower = indicators.bollinger(closes, *bollinger)
            body["bb_mid"], body["bb_upper"], body["bb_lower"] = (
                tail(middle),
                tail(upper),
                tail(lower),
            )
        return Response(body)


# --- order book depth (the engine's live book) ---------------------------------------------------

MAX_DEPTH_LEVELS = 500


class DepthQuery(serializers.Serializer):
    limit = WholeNumber(min_value=1, max_value=MAX_DEPTH_LEVELS, default=50)


class HouseQuoteOut(serializers.Serializer):
    """Feed-priced markets: what the house fills market orders at right now (docs/api.md)."""

    price = serializers.CharField()
    bid_quantity = serializers.CharField()
    ask_quantity = serializers.CharField()
    observed_at = serializers.DateTimeField()


class DepthOut(serializers.Serializer):
    symbol = serializers.CharField()
    sequence = serializers.IntegerField()
    bids = serializers.ListField(child=serializers.ListField(child=serializers.CharField()))
    asks = serializers.ListField(child=serializers.ListField(child=serializers.CharField()))
    house = HouseQuoteOut(allow_null=True)
    ts = serializers.DateTimeField()


class DepthApi(PublicApi):
    @extend_schema(parameters=[DepthQuery], responses=DepthOut, tags=["markets"])
    @reads_replica
    def get(self, request: Request, symbol: str) -> Response:
        pair = pair_get(symbol=symbol)
        query = _query(DepthQuery, request)
        depth = get_engine().depth(pair.symbol, query["limit"])
        return Response(
            {
                "symbol": pair.symbol,
                "sequence": depth.sequence,
                "bids": book_levels(
                    pair, levels_decimal(depth.bids, pair.tick_size, pair.lot_size)
                ),
                "asks": book_levels(
                    pair, levels_decimal(depth.asks, pair.tick_size, pair.lot_size)
                ),
                "house": house_quote_payload(pair, house_quote_get(pair=pair)),
                "ts": iso_ms(timezone.now()),
            }
        )
