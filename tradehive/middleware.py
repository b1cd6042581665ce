"""Refuse requests whose path, query string, cookies or headers carry a NUL character.

PostgreSQL cannot store or compare text containing NUL, so such a value reaching any query is a
500 (``ValueError`` from the driver). No symbol, id, cursor, session key or header value of the
exchange contains one: refusing them here, before sessions and views run, covers every URL
pattern and query parameter at once. Bodies are covered by their parsers (``StrictJSONParser``,
Django's form fields' ``ProhibitNullCharactersValidator``)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from tradehive.exceptions import envelope

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
        if request.path.startswith("/api/"):
            return JsonResponse(envelope("invalid_input", _MESSAGE, fields), status=400)
        return render(request, "400.html", {"message": _MESSAGE}, status=400)
