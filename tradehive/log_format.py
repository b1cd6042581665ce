"""Logs: one JSON object per line in production, plain lines under ``make run``, and a request
id on every line written while a request is handled.

``LOG_FORMAT`` picks the formatter (``json`` or ``plain``; production defaults to ``json``).
``RequestIdMiddleware`` takes the client's ``X-Request-ID`` when it is a sane token (an id
assigned by nginx or a load balancer then follows the request), else makes one, echoes it in
the response, and keeps it in a context variable that ``RequestIdFilter`` puts on each record
(``request_id``; ``-`` outside requests). Code that hands work to another process (the order
placement logs its order id with the request's id) lets an operator follow one order from its
HTTP request through settlement by the order id."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

_REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="-")
_SANE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def request_id() -> str:
    """The id of the request being handled, ``-`` outside one."""
    return _REQUEST_ID.get()


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _REQUEST_ID.get()
        return True


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.META.get("HTTP_X_REQUEST_ID", "")
        rid = given if _SANE.match(given) else uuid.uuid4().hex
        token = _REQUEST_ID.set(rid)
        try:
            response = self.get_response(request)
        finally:
            _REQUEST_ID.reset(token)
        response["X-Request-ID"] = rid
        return response
