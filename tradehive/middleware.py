"""Refuse requests and websocket handshakes whose path, query string, cookies or headers carry a
NUL character.

PostgreSQL cannot store or compare text containing NUL, so such a value reaching any query is a
500 (``ValueError`` from the driver). No symbol, id, cursor, session key or header value of the
exchange contains one: refusing them here, before sessions and views run, covers every URL
pattern and query parameter at once. Bodies are covered by their parsers (``StrictJSONParser``,
Django's form fields' ``ProhibitNullCharactersValidator``). Websockets do not pass through
Django's middleware: ``WebsocketNulRefusal`` wraps their stack (before the session lookup)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_to_bytes

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.cookie import parse_cookie
from django.shortcuts import render

from tradehive.exceptions import envelope, is_binance_path

NUL = "\x00"
_MESSAGE = "Null characters are not allowed."


def _nul_in(request: HttpRequest) -> dict[str, list[str]] | None:
    """The offending parts of ``request`` as envelope ``fields``, or None when it is clean."""
    if NUL in request.path:
        return {"path": [_MESSAGE]}
    for key, values in request.GET.lists():
        if NUL in key or any(NUL in value for value in values):
            return {key.replace(NUL, "") or "query": [_MESSAGE]}
    for key, value in request.COOKIES.items():
        if NUL in key or NUL in value:
            return {"cookies": [_MESSAGE]}
    for key, value in request.META.items():
        if key.startswith("HTTP_") and isinstance(value, str) and NUL in value:
            return {"headers": [_MESSAGE]}
    return None


class NulRefusalMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        fields = _nul_in(request)
        if fields is None:
            return self.get_response(request)
        if is_binance_path(request.path):
            return JsonResponse({"code": -1100, "msg": _MESSAGE}, status=400)
        if request.path.startswith("/api/"):
            return JsonResponse(envelope("invalid_input", _MESSAGE, fields), status=400)
        return render(request, "400.html", {"message": _MESSAGE}, status=400)


def _scope_has_nul(scope: dict[str, Any]) -> bool:
    if NUL in scope.get("path", "") or b"\x00" in unquote_to_bytes(scope.get("query_string", b"")):
        return True
    for name, value in scope.get("headers", []):
        if b"\x00" in name or b"\x00" in value:
            return True
        # A quoted cookie may spell NUL as an octal escape ("\000"); read it as Django would.
        if name == b"cookie" and any(
            NUL in key or NUL in item for key, item in parse_cookie(value.decode("latin-1")).items()
        ):
            return True
    return False


class WebsocketNulRefusal:
    """ASGI middleware for the websocket stack: a handshake carrying a NUL is refused (the
    server answers 403) before the session and user are looked up."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] != "websocket" or not _scope_has_nul(scope):
            return await self.application(scope, receive, send)
        await receive()  # websocket.connect (or the client already left)
        with contextlib.suppress(OSError, RuntimeError):  # the client may be gone already
            await send({"type": "websocket.close", "code": 1008})
        return None
