"""The default assets of a fresh exchange (``make run``'s demo data, tests, benchmarks)."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from wallets.models import Asset

# symbol, name, decimals, withdrawal fee, withdrawal minimum, address pattern
DEFAULT_ASSETS: list[tuple[str, str, int, str, str, str]] = [
    ("KRW", "Korean won", 0, "1000", "5000", r"^[0-9]{10,14}$"),
    ("USDT", "Tether USD", 6, "1", "10", r"^0x[0-9a-fA-F]{40}$"),
    (
        "BTC",
        "Bitcoin",
        8,
        "0.0005",
        "0.001",
        r"^(bc1[02-9ac-hj-np-z]{11,71}|[13][1-9A-HJ-NP-Za-km-z]{25,34})$",
    ),
    ("ETH", "Ethereum", 8, "0.005", "0.01", r"^0x[0-9a-fA-F]{40}$"),
    ("XRP", "XRP", 6, "0.4", "20", r"^r[1-9A-HJ-NP-Za-km-z]{24,34}$"),
    ("LPJ", "LPJ house coin", 4, "1", "10", r"^lpj1[0-9a-z]{20,60}$"),
]


# What each default pattern accepts, in words (``Asset.address_hint``).
ADDRESS_HINTS: dict[str, str] = {
    "KRW": "A bank account number: 10 to 14 digits.",
    "USDT": "An Ethereum-style address: 0x and 40 hex digits.",
    "BTC": "Starts with bc1, 1 or 3.",
    "ETH": "0x and 40 hex digits.",
    "XRP": "Starts with r: 25 to 35 letters and digits.",
    "LPJ": "Starts with lpj1, then lower-case letters and digits.",
}


@transaction.atomic
def asset_seed_defaults() -> list[Asset]:
    """Create the default assets if missing (idempotent; existing rows are left as they are)."""
    assets = []
    for symbol, name, decimals, fee, minimum, pattern in DEFAULT_ASSETS:
        asset, _ = Asset.objects.get_or_create(
            symbol=symbol,
            defaults={
                "name": name,
                "decimals": decimals,
                "withdrawal_fee": Decimal(fee),
                "withdrawal_min": Decimal(minimum),
                "address_pattern": pattern,
                "address_hint": ADDRESS_HINTS.get(symbol, ""),
            },
        )
        assets.append(asset)
    return assets
