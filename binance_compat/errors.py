"""Binance's error answers, ``{"code": -1121, "msg": "Invalid symbol."}``, and the one table that
maps the project's domain errors (``tradehive.errors.DomainError`` and its ``code``) to them.

ccxt's ``binance.handle_errors`` reads ``code`` (and a few exact ``msg`` texts, such as
"Account has insufficient balance for requested action.", which it raises as
``InsufficientFunds``); HTTP 429 and 418 become ``DDoSProtection`` whatever the body."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import set_rollback

from accounts.api_keys import SignedRequestRefused
from tradehive.errors import DomainError, RateLimited

logger = logging.getLogger(__name__)

UNKNOWN = -1000
TOO_MANY_REQUESTS = -1003
UNSUPPORTED_OPERATION = -1020
INVALID_TIMESTAMP = -1021
INVALID_SIGNATURE = -1022
ILLEGAL_CHARS = -1100
TOO_MANY_PARAMETERS = -1101
MANDATORY_PARAM = -1102
NOT_REQUIRED = -1106
BAD_ASSET = -1108
INVALID_TIF = -1115
INVALID_ORDER_TYPE = -1116
INVALID_SIDE = -1117
BAD_INTERVAL = -1120
BAD_SYMBOL = -1121
INVALID_PARAMETER = -1130
INVALID_MESSAGE = -1013
NEW_ORDER_REJECTED = -2010
CANCEL_REJECTED = -2011
NO_SUCH_ORDER = -2013
BAD_API_KEY_FMT = -2014
REJECTED_MBX_KEY = -2015

INSUFFICIENT_BALANCE = "Account has insufficient balance for requested action."
KEY_REFUSED = "Invalid API-key, IP, or permissions for action."


class BinanceError(Exception):
    """An answer in Binance's shape: ``code`` (negative), ``msg``, and the HTTP status."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(msg)
        self.code, self.msg, self.status = code, msg, status


def mandatory(name: str) -> BinanceError:
    return BinanceError(
        MANDATORY_PARAM, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def not_required(name: str) -> BinanceError:
    return BinanceError(NOT_REQUIRED, f"Parameter '{name}' sent when not required.")


def invalid_parameter(name: str) -> BinanceError:
    return BinanceError(INVALID_PARAMETER, f"Data sent for parameter '{name}' is not valid.")


# SignedRequestRefused.reason -> Binance's answer.
_SIGNED_REFUSALS: dict[str, tuple[int, str | None, int]] = {
    "params": (MANDATORY_PARAM, None, 400),
    "timestamp": (
        INVALID_TIMESTAMP,
        "Timestamp for this request is outside of the recvWindow.",
        400,
    ),
    "signature": (INVALID_SIGNATURE, "Signature for this request is not valid.", 400),
    "replay": (INVALID_SIGNATURE, "Signature for this request is not valid.", 400),
    "key": (REJECTED_MBX_KEY, KEY_REFUSED, 401),
    "ip": (REJECTED_MBX_KEY, KEY_REFUSED, 401),
    "permission": (REJECTED_MBX_KEY, KEY_REFUSED, 401),
}

# (domain code, the field it names or None) -> (Binance code, msg or None for the domain's
# message). The field distinguishes the filter a precision error failed, as Binance names it.
_DOMAIN_CODES: dict[tuple[str, str | None], tuple[int, str | None]] = {
    ("insufficient_funds", None): (NEW_ORDER_REJECTED, INSUFFICIENT_BALANCE),
    ("invalid_precision", "price"): (INVALID_MESSAGE, "Filter failure: PRICE_FILTER"),
    ("invalid_precision", "stop_price"): (INVALID_MESSAGE, "Filter failure: PRICE_FILTER"),
    ("invalid_precision", "quantity"): (INVALID_MESSAGE, "Filter failure: LOT_SIZE"),
    ("invalid_precision", "quote_amount"): (
        -1111,
        "Precision is over the maximum defined for this asset.",
    ),
    ("below_min_notional", None): (INVALID_MESSAGE, "Filter failure: NOTIONAL"),
    ("stop_would_trigger", None): (NEW_ORDER_REJECTED, "Stop price would trigger immediately."),
    ("insufficient_liquidity", None): (NEW_ORDER_REJECTED, None),
    ("stale_price", None): (NEW_ORDER_REJECTED, None),
    ("duplicate_client_order_id", None): (NEW_ORDER_REJECTED, "Duplicate order sent."),
    ("conflict", None): (NEW_ORDER_REJECTED, None),
    ("unknown_market", None): (BAD_SYMBOL, "Invalid symbol."),
    ("market_halted", None): (INVALID_MESSAGE, "Market is closed."),
    ("market_cancel_only", None): (INVALID_MESSAGE, "Market is closed."),
    ("order_not_found", None): (NO_SUCH_ORDER, "Order does not exist."),
    ("order_not_open", None): (CANCEL_REJECTED, "Unknown order sent."),
    ("unknown_asset", None): (BAD_ASSET, "Invalid asset."),
    ("invalid_address", None): (INVALID_PARAMETER, None),
    ("withdrawal_below_minimum", None): (INVALID_MESSAGE, None),
    ("withdrawals_disabled", None): (INVALID_MESSAGE, None),
    ("invalid_input", None): (INVALID_MESSAGE, None),
    ("service_unavailable", None): (-1001, "Internal error; unable to process your request."),
}


def binance_error_of(exc: DomainError) -> BinanceError:
    """The one translation of a domain error into Binance's code and message."""
    if isinstance(exc, SignedRequestRefused):
        code, msg, status = _SIGNED_REFUSALS[exc.reason]
        return BinanceError(code, msg or exc.message, status)
    if isinstance(exc, RateLimited):
        return BinanceError(TOO_MANY_REQUESTS, exc.message, 429)
    fields = list(exc.fields)
    field = fields[0] if len(fields) == 1 else None
    entry = _DOMAIN_CODES.get((exc.code, field)) or _DOMAIN_CODES.get((exc.code, None))
    if entry is None:
        code = UNKNOWN if exc.status >= 500 else INVALID_MESSAGE
        return BinanceError(code, exc.message, 503 if exc.status >= 500 else 400)
    code, msg = entry
    status = 503 if exc.status >= 500 else 400
    return BinanceError(code, msg or exc.message, status)


def _drf_error(exc: drf.APIException) -> BinanceError:
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
        return BinanceError(BAD_API_KEY_FMT, "API-key format invalid.", 401)
    if isinstance(exc, drf.PermissionDenied):
        return BinanceError(REJECTED_MBX_KEY, KEY_REFUSED, 401)
    if isinstance(exc, drf.MethodNotAllowed):
        return BinanceError(UNSUPPORTED_OPERATION, "This operation is not supported.", 405)
    if isinstance(exc, drf.NotFound):
        return BinanceError(UNSUPPORTED_OPERATION, "This operation is not supported.", 404)
    if isinstance(exc, drf.UnsupportedMediaType):
        return BinanceError(
            MANDATORY_PARAM,
            "Parameters are sent in the query string or an application/x-www-form-urlencoded body.",
            415,
        )
    if isinstance(exc, drf.Throttled):
        return BinanceError(TOO_MANY_REQUESTS, "Too many requests.", 429)
    if isinstance(exc, drf.ParseError):
        return BinanceError(ILLEGAL_CHARS, "Illegal characters found in a parameter.")
    return BinanceError(INVALID_MESSAGE, "The request could not be read.")


def binance_response(error: BinanceError) -> Response:
    return Response({"code": error.code, "msg": error.msg}, status=error.status)


def binance_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """The exception handler of every view of this app: each error is ``{code, msg}``. An
    unexpected exception is logged and answered as Binance's -1000, never a bare 500 page."""
    set_rollback()
    if isinstance(exc, BinanceError):
        return binance_response(exc)
    if isinstance(exc, DomainError):
        response = binance_response(binance_error_of(exc))
        if isinstance(exc, RateLimited):
            response["Retry-After"] = str(exc.retry_after)
        return response
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    if isinstance(exc, drf.APIException):
        return binance_response(_drf_error(exc))
    logger.exception("binance_compat: unexpected error", exc_info=exc)
    return Response(
        {"code": UNKNOWN, "msg": "An unknown error occurred while processing the request."},
        status=500,
    )
