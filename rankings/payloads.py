"""What the rankings API and pages show (API.md "Rankings"). Amounts are decimal strings; PnL
and volume in the reference asset, at its decimals."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from rest_framework import serializers

from rankings.followers import followers_count_many
from rankings.selectors import Figures, TraderProfile
from tradehive.money import format_decimal, iso_ms

_PCT_PLACES = 2


def _pct(value: Decimal | None) -> str | None:
    return None if value is None else format_decimal(value, _PCT_PLACES)


def _money(value: Decimal, places: int) -> str:
    return format_decimal(value, places)


class LeaderboardEntryOut(serializers.Serializer):
    """One row of ``GET /rankings`` (the schema of what ``leaderboard_entries`` returns)."""

    rank = serializers.IntegerField()
    trader = serializers.CharField(help_text="The trader's public handle.")
    is_bot = serializers.BooleanField(help_text="A demo market-making bot.")
    return_pct = serializers.CharField(help_text="Time-weighted return in %, 2 decimals.")
    pnl = serializers.CharField(
        help_text="Profit in the reference asset (RANKINGS_REFERENCE_ASSET)."
    )
    win_rate = serializers.CharField(allow_null=True, help_text="Winning days / trading days, %.")
    max_drawdown_pct = serializers.CharField()
    trades = serializers.IntegerField()
    volume = serializers.CharField(help_text="Traded value in the reference asset.")
    followers = serializers.IntegerField()


def leaderboard_entries(rows: list[Figures], *, places: int) -> list[dict[str, Any]]:
    """``rows`` from ``leaderboard_page``; amounts at ``places`` decimals."""
    followers = followers_count_many(user_ids=[row.user_id for row in rows])
    return [
        {
            "rank": row.rank,
            "trader": row.handle,
            "is_bot": row.is_bot,
            "return_pct": _pct(row.return_pct),
            "pnl": _money(row.pnl, places),
            "win_rate": _pct(row.win_rate),
            "max_drawdown_pct": _pct(row.max_drawdown_pct),
            "trades": row.trades,
            "volume": _money(row.volume, places),
            "followers": followers[row.user_id],
        }
        for row in rows
    ]


def _period(row: Figures | None, places: int) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "rank": row.rank_return,
        "rank_pnl": row.rank_pnl,
        "eligible": row.eligible,
        "return_pct": _pct(row.return_pct),
        "pnl": _money(row.pnl, places),
        "win_rate": _pct(row.win_rate),
        "max_drawdown_pct": _pct(row.max_drawdown_pct),
        "trades": row.trades,
        "volume": _money(row.volume, places),
    }


def trader_profile_payload(profile: TraderProfile) -> dict[str, Any]:
    places = profile.places
    user = profile.user
    return {
        "trader": user.handle,
        "is_bot": user.is_bot,
        "reference_asset": settings.RANKINGS_REFERENCE_ASSET,
        "periods": {name: _period(row, places) for name, row in profile.periods.items()},
        "equity_curve": [
            {"t": point.at, "return_pct": point.return_pct} for point in profile.curve
        ],
        "asset_mix": [{"asset": s.asset, "pct": _pct(s.pct)} for s in profile.asset_mix],
        "recent_fills": [
            {
                "symbol": fill.symbol,
                "side": fill.side,
                "price": format_decimal(fill.price, fill.price_places),
                "quantity": format_decimal(fill.quantity, fill.quantity_places),
                "created_at": iso_ms(fill.created_at),
            }
            for fill in profile.fills
        ],
        "fills_delay_s": settings.RANKINGS_FILLS_DELAY_S,
        "followers": followers_count_many(user_ids=[user.pk])[user.pk],
        "computed_at": iso_ms(profile.computed_at) if profile.computed_at else None,
    }
