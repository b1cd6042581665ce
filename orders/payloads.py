"""Orders and fills as API.md shows them, as plain dicts.

The one representation used by REST (``orders.apis``) and websocket pushes (``settlement.publish``).
Plain functions rather than DRF field machinery: settlement renders thousands of these a second.
Callers pass objects whose ``pair`` (with ``base``/``quote``) and ``fee_asset`` are loaded."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from orders.models import Order
from tradehive.money import format_decimal, iso_ms


def _fixed(value: Decimal | None, places: int) -> str | None:
    return None if value is None else format_decimal(value, places)


def order_payload(order: Order) -> dict[str, Any]:
    pair = order.pair
    price_places, quantity_places = pair.quote.decimals, pair.base.decimals
    average = order.average_price
    return {
        "id": order.pk,
        "client_order_id": order.client_order_id,
        "symbol": pair.symbol,
        "side": order.side,
        "type": order.type,
        "time_in_force": order.time_in_force,
        "post_only": order.post_only,
        "price": _fixed(order.price, price_places),
        "stop_price": _fixed(order.stop_price, price_places),
        "quantity": _fixed(order.quantity, quantity_places),
        "quote_amount": _fixed(order.quote_amount, price_places),
        "filled_quantity": format_decimal(order.filled_quantity, quantity_places),
        "filled_quote": format_decimal(order.filled_quote, price_places),
        # Four more decimals than the quote, so an average never reads as a tick it isn't.
        "average_price": _fixed(average, price_places + 4),
        "fee_paid": format_decimal(order.fee_paid, price_places),
        "status": order.status,
        "cancel_reason": order.cancel_reason,
        "copied_from": order.copied_from_id,
        "created_at": iso_ms(order.created_at),
        "updated_at": iso_ms(order.updated_at),
    }


if TYPE_CHECKING:
    from markets.models import TradingPair
    from wallets.models import Asset


class FillView(Protocol):
    """What a fill payload reads: a ``Fill`` row, or settlement's ``SettledFill``."""

    @property
    def pk(self) -> int | None: ...
    @property
    def order_id(self) -> int: ...
    @property
    def pair(self) -> TradingPair: ...
    @property
    def side(self) -> str: ...
    @property
    def price(self) -> Decimal: ...
    @property
    def quantity(self) -> Decimal: ...
    @property
    def quote_quantity(self) -> Decimal: ...
    @property
    def fee(self) -> Decimal: ...
    @property
    def fee_asset(self) -> Asset: ...
    @property
    def liquidity(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...


def fill_payload(fill: FillView) -> dict[str, Any]:
    pair = fill.pair
    return {
        "id": fill.pk,
        "order_id": fill.order_id,
        "symbol": pair.symbol,
        "side": fill.side,
        "price": format_decimal(fill.price, pair.quote.decimals),
        "quantity": format_decimal(fill.quantity, pair.base.decimals),
        "quote_quantity": format_decimal(fill.quote_quantity, pair.quote.decimals),
        "fee": format_decimal(fill.fee, fill.fee_asset.decimals),
        "fee_asset": fill.fee_asset.symbol,
        "liquidity": fill.liquidity,
        "created_at": iso_ms(fill.created_at),
    }


# The Orders page's CSV export: one row per order or fill, decimals as the API writes them
# (ungrouped, for spreadsheets), times in ISO 8601 UTC.
ORDER_CSV_HEADER = [
    "created_at",
    "market",
    "side",
    "type",
    "time_in_force",
    "price",
    "stop_price",
    "quantity",
    "quote_amount",
    "filled_quantity",
    "filled_quote",
    "average_price",
    "fee",
    "status",
    "reason",
    "order_id",
    "client_order_id",
]
FILL_CSV_HEADER = [
    "created_at",
    "market",
    "side",
    "price",
    "quantity",
    "value",
    "fee",
    "fee_asset",
    "role",
    "order_id",
    "fill_id",
]


def order_csv_row(order: Order) -> list[str]:
    o = order_payload(order)
    return [
        o["created_at"],
        o["symbol"],
        o["side"],
        o["type"],
        o["time_in_force"],
        o["price"] or "",
        o["stop_price"] or "",
        o["quantity"] or "",
        o["quote_amount"] or "",
        o["filled_quantity"],
        o["filled_quote"],
        o["average_price"] or "",
        o["fee_paid"],
        o["status"],
        o["cancel_reason"],
        str(o["id"]),
        o["client_order_id"] or "",
    ]


def fill_csv_row(fill: FillView) -> list[str]:
    f = fill_payload(fill)
    return [
        f["created_at"],
        f["symbol"],
        f["side"],
        f["price"],
        f["quantity"],
        f["quote_quantity"],
        f["fee"],
        f["fee_asset"],
        f["liquidity"],
        str(f["order_id"]),
        str(f["id"]),
    ]
