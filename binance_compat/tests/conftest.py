"""Fixtures of the Binance-compatible API's tests: the trade-loop fixtures of ``orders``, keys,
and a client that signs requests as ccxt's ``binance.sign`` does."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.api_keys import api_key_create
from accounts.models import User
from accounts.tests.conftest import code_for
from accounts.tests.signed import signature
from orders.tests.conftest import engine_redis, lpj_krw, make_user, settle  # noqa: F401


class BinanceClient:
    """Requests to ``/api/v3`` and ``/sapi/v1``: GET/DELETE carry everything in the query
    string, POST in a form body; signed ones add ``timestamp`` and, last, ``signature``."""

    def __init__(self, key: str = "", secret: str = "", client: Client | None = None) -> None:
        self.key, self.secret = key, secret
        self.client = client or Client()

    def public(self, path: str, query: str = "") -> Any:
        return self.client.get(f"{path}?{query}" if query else path)

    def signed(self, method: str, path: str, **params: Any) -> Any:
        params.setdefault("timestamp", int(time.time() * 1000))
        query = urlencode(params)
        query += f"&signature={signature(self.secret, query)}"
        send = getattr(self.client, method.lower())
        if method.upper() in ("GET", "DELETE"):
            return send(f"{path}?{query}", HTTP_X_MBX_APIKEY=self.key)
        return send(
            path,
            data=query,
            content_type="application/x-www-form-urlencoded",
            HTTP_X_MBX_APIKEY=self.key,
        )


@pytest.fixture(autouse=True)
def _fresh_symbols(redis_client) -> None:
    """Each test's markets are new rows: forget the symbol names of the last test's."""
    from binance_compat import symbols

    symbols._dashed.clear()


@pytest.fixture
def key_for() -> Callable[..., BinanceClient]:
    """``key_for(user, "trade")``: a client signing with a new key of ``user``."""

    def make(user: User, *permissions: str, **options: Any) -> BinanceClient:
        otp = None
        if "withdraw" in permissions:
            device = TOTPDevice.objects.filter(user=user).first()
            if device is None:
                device = TOTPDevice.objects.create(user=user, name="app", confirmed=True)
            otp = code_for(device)
            options.setdefault("ip_allowlist", ["127.0.0.1"])
        key, secret = api_key_create(
            user=user, label="bot", permissions=permissions, otp=otp, **options
        )
        return BinanceClient(key.key, secret)

    return make


def binance_error(response: Any) -> tuple[int, int]:
    body = response.json()
    assert set(body) == {"code", "msg"}, body
    return response.status_code, body["code"]
