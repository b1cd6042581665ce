"""Domain errors of orders (codes listed in docs/api.md)."""

from __future__ import annotations

from tradehive.errors import Conflict, DomainError, InvalidInput, NotFound


class OrderNotFound(NotFound):
    code = "order_not_found"
    default_message = "No such order."


class DuplicateClientOrderId(Conflict):
    code = "duplicate_client_order_id"
    default_message = "An order with this client_order_id and other parameters exists."


class OrderNotOpen(Conflict):
    code = "order_not_open"
    default_message = "The order is no longer open."


class BelowMinNotional(InvalidInput):
    code = "below_min_notional"
    default_message = "The order's value is below the market's minimum."


class StopWouldTrigger(InvalidInput):
    code = "stop_would_trigger"
    default_message = "The stop price is already crossed by the last price."


class InsufficientLiquidity(InvalidInput):
    code = "insufficient_liquidity"
    default_message = "There is no liquidity on the other side of the book."


class EngineUnavailable(DomainError):
    code = "service_unavailable"
    status = 503
    default_message = "The matching engine is unavailable; try again shortly."


def invalid_field(
    field: str, message: str, *, code: str | None = None, error: type[InvalidInput] = InvalidInput
) -> InvalidInput:
    """``error`` naming ``field`` (the envelope's ``fields``), with ``message`` for it."""
    return error(message, code=code, fields={field: [message]})
