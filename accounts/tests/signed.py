"""Signing requests as a Binance client does (ccxt's ``binance.sign``), for tests and benches."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any
from urllib.parse import urlencode

from django.test import Client


def signature(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def signed_query(secret: str, params: dict[str, Any] | None = None, **extra: Any) -> str:
    """``params`` with ``timestamp`` (now, unless given) url-encoded, ``signature`` appended."""
    values = {**(params or {}), **extra}
    values.setdefault("timestamp", int(time.time() * 1000))
    query = urlencode(values)
    return f"{query}&signature={signature(secret, query)}"


class SignedClient:
    """Requests to ``/api/v1`` signed with one key: the query string carries ``timestamp`` and
    ``signature``; a JSON body is signed after the query string (Binance's totalParams)."""

    def __init__(self, key: str, secret: str, client: Client | None = None) -> None:
        self.key, self.secret = key, secret
        self.client = client or Client()

    def request(self, method: str, path: str, body: str = "", **params: Any) -> Any:
        params.setdefault("timestamp", int(time.time() * 1000))
        query = urlencode(params)
        sig = signature(self.secret, query + body)
        url = f"{path}?{query}&signature={sig}"
        send = getattr(self.client, method.lower())
        extra = {"HTTP_X_MBX_APIKEY": self.key}
        if method.upper() in ("GET", "HEAD"):
            return send(url, **extra)
        return send(url, data=body, content_type="application/json", **extra)

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, **params)
