"""The project's objects in Binance's shapes: decimal strings, epoch milliseconds, Binance's
enums. Plain functions over loaded objects (orders and fills with their pair and assets)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from binance_compat.symbols import binance_symbol
from markets.intervals import INTERVAL_SECONDS
from markets.models import Candle, Trade, TradingPair
from orders.models import MARKET_TYPES, CancelReason, Fill, Order, OrderStatus, OrderType, Side
from tradehive.money import epoch_ms, format_decimal
from wallets.models import Asset, Deposit, Withdrawal

# The order types the project carries out, as Binance names them (exchangeInfo ``orderTypes``).
ORDER_TYPES = [
    "LIMIT",
    "LIMIT_MAKER",
    "MARKET",
    "STOP_LOSS",
    "STOP_LOSS_LIMIT",
    "TAKE_PROFIT",
    "TAKE_PROFIT_LIMIT",
]
STP_MODES = {
    "EXPIRE_TAKER": "expire_taker",
    "EXPIRE_MAKER": "expire_maker",
    "EXPIRE_BOTH": "expire_both",
}
_STP_NAMES = {value: name for name, value in STP_MODES.items()}

# A cancelled order expired (Binance's EXPIRED) when no one asked for the cancel: its time in
# force or the book ended it. A self-trade prevention cancel is Binance's EXPIRED_IN_MATCH; a
# post-only order that would have taken is refused, as Binance refuses a LIMIT_MAKER.
_EXPIRED_REASONS = {CancelReason.IOC, CancelReason.FOK, CancelReason.INSUFFICIENT_LIQUIDITY}
_STATUSES = {
    OrderStatus.PENDING: "NEW",
    OrderStatus.UNTRIGGERED: "NEW",
    OrderStatus.OPEN: "NEW",
    OrderStatus.PARTIALLY_FILLED: "PARTIALLY_FILLED",
    OrderStatus.FILLED: "FILLED",
    OrderStatus.CANCELLED: "CANCELED",
    OrderStatus.REJECTED: "REJECTED",
}
_TYPES = {
    OrderType.LIMIT: "LIMIT",
    OrderType.MARKET: "MARKET",
    OrderType.STOP_LIMIT: "STOP_LOSS_LIMIT",
    OrderType.STOP_MARKET: "STOP_LOSS",
    OrderType.TAKE_PROFIT_LIMIT: "TAKE_PROFIT_LIMIT",
    OrderType.TAKE_PROFIT_MARKET: "TAKE_PROFIT",
}


def ms(moment: datetime) -> int:
    return epoch_ms(moment)


def _fixed(value: Decimal | None, places: int) -> str:
    return format_decimal(value if value is not None else Decimal(0), places)


def order_status(order: Order) -> str:
    if order.status == OrderStatus.CANCELLED:
        if order.cancel_reason in _EXPIRED_REASONS:
            return "EXPIRED"
        if order.cancel_reason == CancelReason.SELF_TRADE:
            return "EXPIRED_IN_MATCH"
        if order.cancel_reason == CancelReason.WOULD_TAKE:
            return "REJECTED"
    return _STATUSES[OrderStatus(order.status)]


def order_type(order: Order) -> str:
    if order.type == OrderType.LIMIT and order.post_only:
        return "LIMIT_MAKER"
    return _TYPES[OrderType(order.type)]


def order_time_in_force(order: Order) -> str:
    # Binance shows GTC for market orders; the project runs them as IOC internally.
    if order.type in MARKET_TYPES:
        return "GTC"
    return order.time_in_force


def order_ack(order: Order) -> dict[str, Any]:
    """``newOrderRespType=ACK``."""
    return {
        "symbol": binance_symbol(order.pair),
        "orderId": order.pk,
        "orderListId": -1,
        "clientOrderId": order.client_order_id or "",
        "transactTime": ms(order.created_at),
    }


def order_result(order: Order) -> dict[str, Any]:
    """``newOrderRespType=RESULT``: the order as committed (matching happens after the answer)."""
    pair = order.pair
    price_places, quantity_places = pair.quote.decimals, pair.base.decimals
    body = order_ack(order)
    body.update(
        {
            "price": _fixed(order.price, price_places),
            "origQty": _fixed(order.quantity, quantity_places),
            "executedQty": format_decimal(order.filled_quantity, quantity_places),
            "origQuoteOrderQty": _fixed(order.quote_amount, price_places),
            "cummulativeQuoteQty": format_decimal(order.filled_quote, price_places),
            "status": order_status(order),
            "timeInForce": order_time_in_force(order),
            "type": order_type(order),
            "side": order.side.upper(),
            "workingTime": ms(order.created_at),
            "selfTradePreventionMode": _STP_NAMES.get(order.stp_mode, "EXPIRE_TAKER"),
        }
    )
    if order.stop_price is not None:
        body["stopPrice"] = format_decimal(order.stop_price, price_places)
    return body


def order_full(order: Order, fills: list[Fill]) -> dict[str, Any]:
    """``newOrderRespType=FULL``: RESULT with the fills settled so far."""
    body = order_result(order)
    body["fills"] = [
        {
            "price": format_decimal(fill.price, order.pair.quote.decimals),
            "qty": format_decimal(fill.quantity, order.pair.base.decimals),
            "commission": format_decimal(fill.fee, fill.fee_asset.decimals),
            "commissionAsset": fill.fee_asset.symbol,
            "tradeId": fill.pk,
        }
        for fill in fills
    ]
    return body


def order_query(order: Order) -> dict[str, Any]:
    """``GET /api/v3/order`` and the order lists."""
    body = order_result(order)
    del body["transactTime"]
    body.update(
        {
            "stopPrice": _fixed(order.stop_price, order.pair.quote.decimals),
            "icebergQty": "0",
            "time": ms(order.created_at),
            "updateTime": ms(order.updated_at),
            "isWorking": order.status not in (OrderStatus.PENDING, OrderStatus.UNTRIGGERED),
        }
    )
    return body


def order_cancelled(order: Order) -> dict[str, Any]:
    """``DELETE /api/v3/order``: the order after the cancel (usually settled by then)."""
    body = order_result(order)
    body["origClientOrderId"] = body["clientOrderId"]
    body["transactTime"] = ms(order.updated_at)
    return body


def my_trade(fill: Fill) -> dict[str, Any]:
    pair = fill.pair
    return {
        "symbol": binance_symbol(pair),
        "id": fill.pk,
        "orderId": fill.order_id,
        "orderListId": -1,
        "price": format_decimal(fill.price, pair.quote.decimals),
        "qty": format_decimal(fill.quantity, pair.base.decimals),
        "quoteQty": format_decimal(fill.quote_quantity, pair.quote.decimals),
        "commission": format_decimal(fill.fee, fill.fee_asset.decimals),
        "commissionAsset": fill.fee_asset.symbol,
        "time": ms(fill.created_at),
        "isBuyer": fill.side == Side.BUY,
        "isMaker": fill.liquidity == Fill.Liquidity.MAKER,
        "isBestMatch": True,
    }


def market(pair: TradingPair, *, max_steps: int) -> dict[str, Any]:
    """One ``exchangeInfo`` symbol: its status, assets, precisions and filters. The maxima are
    the engine's: ``max_steps`` ticks, lots, and quote units (tick x lot) of value."""
    base, quote = pair.base, pair.quote
    tick, lot = pair.tick_size, pair.lot_size
    price_places, quantity_places = pair.price_places, pair.quantity_places
    min_notional = format_decimal(pair.min_notional, quote.decimals)
    max_price, max_quantity = max_steps * tick, max_steps * lot
    return {
        "symbol": binance_symbol(pair),
        "status": "TRADING" if pair.accepts_orders else "BREAK",
        "baseAsset": base.symbol,
        "baseAssetPrecision": base.decimals,
        "quoteAsset": quote.symbol,
        "quotePrecision": quote.decimals,
        "quoteAssetPrecision": quote.decimals,
        "baseCommissionPrecision": base.decimals,
        "quoteCommissionPrecision": quote.decimals,
        "orderTypes": ORDER_TYPES,
        "icebergAllowed": False,
        "ocoAllowed": False,
        "otoAllowed": False,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": False,
        "amendAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": format_decimal(tick, price_places),
                "maxPrice": format_decimal(max_price, price_places),
                "tickSize": format_decimal(tick, price_places),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": format_decimal(lot, quantity_places),
                "maxQty": format_decimal(max_quantity, quantity_places),
                "stepSize": format_decimal(lot, quantity_places),
            },
            {
                "filterType": "MIN_NOTIONAL",
                "minNotional": min_notional,
                "applyToMarket": True,
                "avgPriceMins": 0,
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": min_notional,
                "applyMinToMarket": True,
                "maxNotional": format_decimal(max_steps * tick * lot, quote.decimals),
                "applyMaxToMarket": False,
                "avgPriceMins": 0,
            },
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_TAKER",
        "allowedSelfTradePreventionModes": list(STP_MODES),
    }


def trade(pair: TradingPair, row: Trade) -> dict[str, Any]:
    """``GET /api/v3/trades``."""
    return {
        "id": row.sequence,
        "price": format_decimal(row.price, pair.price_places),
        "qty": format_decimal(row.quantity, pair.quantity_places),
        "quoteQty": format_decimal(row.quote_quantity, pair.quote.decimals),
        "time": ms(row.created_at),
        "isBuyerMaker": row.taker_side == Side.SELL,
        "isBestMatch": True,
    }


def agg_trade(pair: TradingPair, row: Trade) -> dict[str, Any]:
    """``GET /api/v3/aggTrades``: every trade is its own aggregate (ids are engine sequences)."""
    return {
        "a": row.sequence,
        "p": format_decimal(row.price, pair.price_places),
        "q": format_decimal(row.quantity, pair.quantity_places),
        "f": row.sequence,
        "l": row.sequence,
        "T": ms(row.created_at),
        "m": row.taker_side == Side.SELL,
        "M": True,
    }


def kline(pair: TradingPair, candle: Candle) -> list[Any]:
    """One ``klines`` row. The taker-buy volumes are not recorded by the project: "0"."""
    opened = ms(candle.bucket)
    price = pair.price_places
    return [
        opened,
        format_decimal(candle.open, price),
        format_decimal(candle.high, price),
        format_decimal(candle.low, price),
        format_decimal(candle.close, price),
        format_decimal(candle.volume, pair.quantity_places),
        opened + INTERVAL_SECONDS[candle.interval] * 1000 - 1,
        format_decimal(candle.quote_volume, pair.quote.decimals),
        candle.trade_count,
        "0",
        "0",
        "0",
    ]


def asset_config(asset: Asset, free: Decimal, locked: Decimal) -> dict[str, Any]:
    """``capital/config/getall``: one asset, on one network named after it."""
    places = asset.decimals
    step = format_decimal(Decimal(1).scaleb(-places), places)
    return {
        "coin": asset.symbol,
        "name": asset.name,
        "depositAllEnable": asset.deposit_enabled,
        "withdrawAllEnable": asset.withdrawal_enabled,
        "free": format_decimal(free, places),
        "locked": format_decimal(locked, places),
        "freeze": "0",
        "withdrawing": "0",
        "ipoing": "0",
        "ipoable": "0",
        "storage": "0",
        "isLegalMoney": False,
        "trading": asset.is_active,
        "networkList": [
            {
                "network": asset.symbol,
                "coin": asset.symbol,
                "name": asset.name,
                "isDefault": True,
                "depositEnable": asset.deposit_enabled,
                "withdrawEnable": asset.withdrawal_enabled,
                "withdrawFee": format_decimal(asset.withdrawal_fee, places),
                "withdrawMin": format_decimal(asset.withdrawal_min, places),
                "withdrawMax": "9000000000",
                "withdrawIntegerMultiple": step,
                "depositDust": step,
                "minConfirm": 1,
                "unLockConfirm": 0,
                "sameAddress": False,
                "addressRegex": asset.address_pattern,
                "memoRegex": "",
                "depositDesc": "",
                "withdrawDesc": "",
                "specialTips": "",
                "resetAddressStatus": False,
            }
        ],
    }


def deposit(row: Deposit) -> dict[str, Any]:
    """``capital/deposit/hisrec``: simulated deposits are credited at once (status 1)."""
    return {
        "id": str(row.pk),
        "amount": format_decimal(row.amount, row.asset.decimals),
        "coin": row.asset.symbol,
        "network": row.asset.symbol,
        "status": 1,
        "address": "",
        "addressTag": "",
        "txId": f"deposit:{row.pk}",
        "insertTime": ms(row.created_at),
        "completeTime": ms(row.created_at),
        "transferType": 0,
        "confirmTimes": "1/1",
        "unlockConfirm": 0,
        "walletType": 0,
    }


# Binance's withdrawal statuses: 1 cancelled, 2 awaiting approval, 3 rejected, 6 completed.
_WITHDRAWAL_STATUSES = {
    Withdrawal.Status.PENDING: 2,
    Withdrawal.Status.COMPLETED: 6,
    Withdrawal.Status.REJECTED: 3,
    Withdrawal.Status.CANCELLED: 1,
}


def withdrawal_statuses(binance_status: int) -> list[str]:
    """The project's withdrawal statuses Binance's ``status`` number stands for (none for the
    numbers that never occur here)."""
    return [status for status, number in _WITHDRAWAL_STATUSES.items() if number == binance_status]


def withdrawal(row: Withdrawal) -> dict[str, Any]:
    """``capital/withdraw/history``. ``applyTime`` is Binance's "YYYY-MM-DD HH:MM:SS" (UTC)."""
    places = row.asset.decimals
    body: dict[str, Any] = {
        "id": str(row.pk),
        "amount": format_decimal(row.amount, places),
        "transactionFee": format_decimal(row.fee, places),
        "coin": row.asset.symbol,
        "status": _WITHDRAWAL_STATUSES[Withdrawal.Status(row.status)],
        "address": row.address,
        "addressTag": "",
        "txId": "",
        "applyTime": row.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "network": row.asset.symbol,
        "transferType": 0,
        "info": row.reason,
        "confirmNo": 0,
        "walletType": 0,
        "txKey": "",
    }
    if row.status == Withdrawal.Status.COMPLETED:
        body["completeTime"] = row.updated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    return body
