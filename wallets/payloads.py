"""How balances look on the ``balances`` websocket channel (the REST shape too), and what the
withdrawal form shows of each asset."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from decimal import Decimal

from tradehive.money import format_decimal
from wallets.models import Asset, Balance


def balance_payloads(
    *, user_ids: Collection[int], assets: Mapping[int, Asset]
) -> dict[int, list[dict[str, str]]]:
    """The balances in ``assets`` (by id) of every user in ``user_ids``, in one query."""
    payloads: dict[int, list[dict[str, str]]] = {user_id: [] for user_id in user_ids}
    if not user_ids:
        return payloads
    rows = (
        Balance.objects.filter(account__user_id__in=user_ids, asset_id__in=assets)
        .values_list("account__user_id", "asset_id", "available", "locked")
        .order_by("account__user_id", "asset_id")
    )
    for user_id, asset_id, available, locked in rows:
        asset = assets[asset_id]
        payloads[user_id].append(
            {
                "asset": asset.symbol,
                "available": format_decimal(available, asset.decimals),
                "locked": format_decimal(locked, asset.decimals),
                "total": format_decimal(available + locked, asset.decimals),
            }
        )
    return payloads


def withdrawal_terms_payloads(
    *, assets: Iterable[Asset], available: Mapping[int, Decimal]
) -> list[dict[str, object]]:
    """What the withdrawal form shows of each asset: its fee, minimum, what an address looks
    like, and how much the user could withdraw at most (available less the fee; never below
    zero). Decimal strings at the asset's decimals."""
    terms = []
    for asset in assets:
        most = max(available.get(asset.pk, Decimal(0)) - asset.withdrawal_fee, Decimal(0))
        terms.append(
            {
                "asset": asset.symbol,
                "decimals": asset.decimals,
                "fee": format_decimal(asset.withdrawal_fee, asset.decimals),
                "minimum": format_decimal(asset.withdrawal_min, asset.decimals),
                "address_hint": asset.address_hint,
                "enabled": asset.withdrawal_enabled,
                "max": format_decimal(most, asset.decimals),
            }
        )
    return terms
