"""Request bodies larger than ``REQUEST_BODY_MAX_BYTES`` are refused with 413 before anything
reads them into memory or onto disk.

Two gates, one limit:

- ``BodyLimitASGIMiddleware`` wraps the ASGI app (``tradehive.asgi``). A declared
  ``Content-Length`` over the limit is answered at once, without reading a byte of the body; a body
  without one (chunked) is counted as it arrives and refused as soon as it passes the limit. A
  body within the limit is handed to Django as one message, so Django never spools more than the
  limit either (its ``ASGIHandler`` reads the whole body before the view runs). A chunked body
  within the limit is given its ``Content-Length``, so Django and DRF read all of it.
- ``BodyLimitMiddleware`` is the same check on ``CONTENT_LENGTH`` inside Django, for any server
  that is not this ASGI app (WSGI, the test client).

The answer is API.md's envelope with status 413 and code ``payload_too_large``."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

Scope = dict[str, Any]
Message = Mapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CODE = "payload_too_large"


def _message(limit: int) -> str:
    return f"The request body is larger than {limit} bytes."


def _envelope_bytes(limit: int) -> bytes:
    return json.dumps({"error": {"code": CODE, "message": _message(limit), "fields": {}}}).encode()


def _declared_length(scope: Scope) -> int | None:
    """The ``Content-Length`` header as a number; None when absent or not a number (h11 and
    httptools refuse a malformed one before the app runs)."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimitASGIMiddleware:
    def __init__(self, app: ASGIApp, *, limit: int | None = None) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit if self.limit is not None else settings.REQUEST_BODY_MAX_BYTES
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(send, limit)
            return

        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # http.disconnect: the client is gone
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._refuse(send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break

        body = b"".join(chunks)
        if declared is None:
            # A chunked body is whole now: say its length, as Django and DRF read only up to
            # CONTENT_LENGTH (without it, DRF takes the body for empty).
            headers = [(k, v) for k, v in scope.get("headers", ()) if k != b"content-length"]
            scope = {**scope, "headers": [*headers, (b"content-length", str(len(body)).encode())]}
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: Django listens for http.disconnect

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(send: Send, limit: int) -> None:
        payload = _envelope_bytes(limit)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                    # The rest of the body is never read: the connection cannot be reused.
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


class BodyLimitMiddleware:
    """Django middleware: 413 when ``CONTENT_LENGTH`` is over ``REQUEST_BODY_MAX_BYTES``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.REQUEST_BODY_MAX_BYTES
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            return JsonResponse(
                {"error": {"code": CODE, "message": _message(limit), "fields": {}}}, status=413
            )
        return self.get_response(request)
