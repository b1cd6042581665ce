"""Wallet settings, read from Django settings with these defaults.

- ``WALLET_DEMO_DEPOSITS`` (bool, env ``WALLET_DEMO_DEPOSITS``, default True): simulated deposits
  are credited at once. When off, ``POST /api/v1/wallet/deposits`` answers ``deposits_disabled``.
- ``WALLET_DEPOSIT_DAILY_CAPS`` ({symbol: decimal string}): the most one user may deposit of an
  asset per UTC day. An asset missing from the map has no cap."""

from __future__ import annotations

import os
from decimal import Decimal

from django.conf import settings

DEFAULT_DEPOSIT_DAILY_CAPS: dict[str, str] = {
    "KRW": "100000000",
    "USDT": "100000",
    "BTC": "10",
    "ETH": "100",
    "XRP": "200000",
    "LPJ": "1000000",
}


def demo_deposits_enabled() -> bool:
    value = getattr(settings, "WALLET_DEMO_DEPOSITS", None)
    if value is None:
        raw = os.environ.get("WALLET_DEMO_DEPOSITS", "1").strip().lower()
        return raw in {"1", "true", "yes", "on"}
    return bool(value)


def deposit_daily_cap(symbol: str) -> Decimal | None:
    caps = getattr(settings, "WALLET_DEPOSIT_DAILY_CAPS", DEFAULT_DEPOSIT_DAILY_CAPS)
    cap = caps.get(symbol)
    return None if cap is None else Decimal(str(cap))
