"""How balances look on the ``balances`` websocket channel (the REST shape too)."""

from __future__ import annotations

from collections.abc import Collection, Mapping

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
