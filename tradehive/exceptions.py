"""One place that turns every error into the API envelope of API.md:

    {"error": {"code": "insufficient_funds", "message": "...", "fields": {"quantity": ["..."]}}}

``api_exception_handler`` is DRF's EXCEPTION_HANDLER; ``handler400/404/500`` answer with
the same envelope for ``/api/`` paths and with HTML pages elsewhere."""

from __future__ import annotations

import logging
import sys
from typing import Any

import psycopg
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from psycopg_pool import PoolTimeout
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import set_rollback

from tradehive.errors import DomainError, RateLimited

logger = logging.getLogger(__name__)

# DRF's own exception classes -> our stable codes.
_DRF_CODES: dict[type[drf.APIException], str] = {
    drf.ParseError: "malformed_request",
    drf.AuthenticationFailed: "authentication_failed",
    drf.NotAuthenticated: "not_authenticated",
    drf.PermissionDenied: "permission_denied",
    drf.NotFound: "not_found",
    drf.MethodNotAllowed: "method_not_allowed",
    drf.NotAcceptable: "not_acceptable",
    drf.UnsupportedMediaType: "unsupported_media_type",
    drf.Throttled: "rate_limited",
}


def envelope(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


# The Binance-compatible API (binance_compat) answers in Binance's shape, ``{"code", "msg"}``,
# also where a middleware refuses a request before its views run.
BINANCE_PATH_PREFIXES = ("/api/v3/", "/sapi/")


def is_binance_path(path: str) -> bool:
    return path.startswith(BINANCE_PATH_PREFIXES)


def _flatten_fields(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested ValidationError detail -> {"field" or "field.sub": [messages]}."""
    fields: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            fields.update(_flatten_fields(value, name))
    elif isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            fields[prefix or "non_field_errors"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                fields.update(_flatten_fields(item, f"{prefix}.{index}" if prefix else str(index)))
    else:
        fields[prefix or "non_field_errors"] = [str(detail)]
    return fields


def _code_of(exc: drf.APIException) -> str:
    # Errors raised with an explicit code (e.g. simplejwt's "token_not_valid") keep it.
    codes = exc.get_codes()
    generic = {"invalid", "error", "parse_error"}
    if isinstance(codes, str) and codes not in generic and not isinstance(exc, drf.ValidationError):
        return codes
    for cls, code in _DRF_CODES.items():
        if isinstance(exc, cls):
            return code
    return "error"


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        set_rollback()
        response = Response(envelope(exc.code, exc.message, exc.fields), status=exc.status)
        if isinstance(exc, RateLimited):
            response["Retry-After"] = str(exc.retry_after)
        return response
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    if not isinstance(exc, drf.APIException):
        return None  # a real bug: Django's handler500 answers (with the envelope under /api/)

    set_rollback()
    headers: dict[str, str] = {}
    # Throttled.__init__ sets ``wait`` (seconds or None); the stubs do not declare it.
    wait: float | None = getattr(exc, "wait", None) if isinstance(exc, drf.Throttled) else None
    if wait is not None:
        headers["Retry-After"] = str(max(1, int(wait)))
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]

    if isinstance(exc, drf.ValidationError):
        fields = _flatten_fields(exc.detail)
        body = envelope("invalid_input", "The request contains invalid values.", fields)
    else:
        detail = exc.detail
        if isinstance(detail, dict):  # simplejwt puts {"detail", "code", "messages"} here
            message = str(detail.get("detail", exc.default_detail))
        else:
            message = str(detail)
        body = envelope(_code_of(exc), message)
    status = exc.status_code
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
        status = 401
    return Response(body, status=status, headers=headers)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's own refusals (``BadRequest``, ``SuspiciousOperation``) in our shapes."""
    if _is_api(request):
        return JsonResponse(
            envelope("malformed_request", "The request could not be read."), status=400
        )
    return render(request, "400.html", status=400)


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(envelope("not_found", "Not found."), status=404)
    return render(request, "404.html", status=404)


# SQLSTATE classes of a database that is gone rather than a statement that failed: connection
# exceptions (08) and operator intervention (57P: shutdown, crash shutdown, cannot connect now).
_UNAVAILABLE_SQLSTATES = ("08", "57P")


def _unavailable(exc: BaseException | None) -> bool:
    """The database could not serve the request, through no fault of the request: every
    connection of the process's pool was busy past its timeout (``psycopg_pool.PoolTimeout``,
    wrapped by Django), or the server went away mid-request (a restart, a failover: an
    ``OperationalError`` with no SQLSTATE, as when the socket closes, or a connection or
    shutdown SQLSTATE). That is load or an outage, not a bug: the client should retry, so it
    is a 503 with ``Retry-After``, not a 500."""
    while exc is not None:
        if isinstance(exc, PoolTimeout):
            return True
        if isinstance(exc, psycopg.OperationalError) and (
            exc.sqlstate is None or exc.sqlstate.startswith(_UNAVAILABLE_SQLSTATES)
        ):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def handler500(request: HttpRequest) -> HttpResponse:
    # Django calls this while handling the exception, so it is still current here.
    if _unavailable(sys.exc_info()[1]):
        message = "The exchange cannot answer now; retry in a moment."
        if _is_api(request):
            response: HttpResponse = JsonResponse(
                envelope("service_unavailable", message), status=503
            )
        else:
            response = HttpResponse(message, status=503, content_type="text/plain")
        response["Retry-After"] = "1"
        return response
    if _is_api(request):
        return JsonResponse(
            envelope("server_error", "An internal error occurred; it has been logged."),
            status=500,
        )
    return render(request, "500.html", status=500)
