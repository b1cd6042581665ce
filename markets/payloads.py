"""How markets look to clients: the serializers the REST API renders and the websocket pushes
reuse (candles, trades, tickers, pairs, book levels), so both show the same strings."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rest_framework import serializers

from markets import price_sources
from markets.models import TradingPair
from markets.price_sources import LatestPrice
from tradehive.api_fields import DecimalString, Timestamp
from tradehive.money import format_decimal, iso_ms

if TYPE_CHECKING:
    from markets.selectors import HouseQuote
    from markets.services import TradeInput


class PairDecimal(DecimalString):
    """A decimal string with the places of the market in the serializer's ``pair`` context."""

    def __init__(self, *, kind: str, **kwargs: Any) -> None:
        self.kind = kind
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Decimal) -> str:
        pair: TradingPair = self.context["pair"]
        places = {
            "price": pair.price_places,
            "quantity": pair.quantity_places,
            "quote": pair.quote.decimals,
        }[self.kind]
        return format_decimal(Decimal(value), places)


class PairOut(serializers.Serializer):
    symbol = serializers.CharField()
    base = serializers.CharField(source="base.symbol")
    quote = serializers.CharField(source="quote.symbol")
    tick_size = DecimalString()
    lot_size = DecimalString()
    min_notional = DecimalString()
    maker_fee = DecimalString()
    taker_fee = DecimalString()
    status = serializers.ChoiceField(choices=TradingPair.Status.choices)
    price_source = serializers.CharField()
    # web UI: the assets' own precision, for balances and quote amounts
    base_decimals = serializers.IntegerField(source="base.decimals")
    quote_decimals = serializers.IntegerField(source="quote.decimals")
    # A feed market's newest observed price time and age (null for book markets), from its
    # price source; the sources are asked once per rendering, for every pair rendered.
    last_price_at = serializers.SerializerMethodField()
    feed_age_ms = serializers.SerializerMethodField()

    def _feed_latest(self, pair: TradingPair) -> LatestPrice | None:
        latest = self.context.get("feed_latest")
        if latest is None:
            rendered = self.parent.instance if self.parent is not None else None
            latest = self.context["feed_latest"] = price_sources.latest_many(
                list(rendered) if rendered is not None else [pair]
            )
        return latest.get(pair.symbol)

    def get_last_price_at(self, pair: TradingPair) -> str | None:
        latest = self._feed_latest(pair)
        return iso_ms(latest.received_at) if latest is not None else None

    def get_feed_age_ms(self, pair: TradingPair) -> int | None:
        latest = self._feed_latest(pair)
        return latest.age_ms if latest is not None else None


class TickerOut(serializers.Serializer):
    symbol = serializers.CharField()
    last = DecimalString(allow_null=True)
    best_bid = DecimalString(allow_null=True)
    best_ask = DecimalString(allow_null=True)
    open_24h = DecimalString(allow_null=True)
    high_24h = DecimalString(allow_null=True)
    low_24h = DecimalString(allow_null=True)
    volume_24h = DecimalString()
    quote_volume_24h = DecimalString()
    change_24h_pct = serializers.CharField(allow_null=True, help_text='e.g. "-1.25"')
    ts = serializers.DateTimeField()


class TradeOut(serializers.Serializer):
    id = serializers.IntegerField()
    price = PairDecimal(kind="price")
    quantity = PairDecimal(kind="quantity")
    taker_side = serializers.CharField()
    created_at = Timestamp()


class CandleOut(serializers.Serializer):
    t = Timestamp(source="bucket")
    o = PairDecimal(kind="price", source="open")
    h = PairDecimal(kind="price", source="high")
    l = PairDecimal(kind="price", source="low")  # noqa: E741 - the contract's field name
    c = PairDecimal(kind="price", source="close")
    v = PairDecimal(kind="quantity", source="volume")


def book_levels(pair: TradingPair, levels: Iterable[tuple[Decimal, Decimal]]) -> list[list[str]]:
    """Book levels (price, quantity) -> ``[[price, quantity], ...]`` decimal strings in the
    market's places. The REST depth and the websocket ``depth:SYM`` channel format with this,
    so both agree (the engine's integer levels convert with ``engine.units.levels_decimal``)."""
    return [
        [format_decimal(price, pair.price_places), format_decimal(quantity, pair.quantity_places)]
        for price, quantity in levels
    ]


def house_quote_payload(pair: TradingPair, quote: HouseQuote | None) -> dict[str, Any] | None:
    """The house's quote (``markets.selectors.house_quote_get``) as the REST depth's ``house``
    and the websocket ``depth:SYM`` channel carry it: decimal strings in the market's places."""
    if quote is None:
        return None
    return {
        "price": format_decimal(quote.price, pair.price_places),
        "bid_quantity": format_decimal(quote.bid_quantity, pair.quantity_places),
        "ask_quantity": format_decimal(quote.ask_quantity, pair.quantity_places),
        "observed_at": iso_ms(quote.observed_at),
    }


def trade_payloads(pair: TradingPair, trades: Iterable[TradeInput]) -> list[dict[str, Any]]:
    """New trades on the ``trades:SYM`` websocket channel (the fields of ``TradeOut``)."""
    return [
        {
            "id": t.sequence,
            "price": format_decimal(t.price, pair.price_places),
            "quantity": format_decimal(t.quantity, pair.quantity_places),
            "taker_side": t.taker_side,
            "created_at": iso_ms(t.created_at),
        }
        for t in trades
    ]
