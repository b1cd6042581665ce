"""Reads of the rankings: leaderboard pages and public trader profiles (docs/rankings.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone

from accounts.models import HANDLE_PATTERN, User
from orders.selectors import PublicFill, fill_list_older_than
from rankings import sql
from rankings.models import Period, RankingsState
from tradehive.db_router import reads_replica
from tradehive.money import format_decimal, iso_ms
from wallets.models import Asset

RANK_COLUMNS = {
    ("return", False): "rank_return",
    ("pnl", False): "rank_pnl",
    ("return", True): "rank_return_human",
    ("pnl", True): "rank_pnl_human",
}
# A profile's equity curve shows at most this many points (the latest).
CURVE_POINTS = 500
PROFILE_FILLS = 20
# Decimals of amounts while the reference asset does not exist.
DEFAULT_PLACES = 8


def rank_column(*, sort: str, bots_excluded: bool) -> str:
    return RANK_COLUMNS[(sort, bots_excluded)]


@dataclass(frozen=True)
class Figures:
    """One trader in one period as the API shows them: the stored row's columns and the figures
    that move with prices, computed at read time at the prices of the last refresh (the ones
    it ranked at). ``rank`` and ``handle``: a leaderboard row's; ``rank_return``,
    ``rank_pnl``, ``eligible``: a profile's."""

    user_id: int
    is_bot: bool
    return_pct: Decimal
    pnl: Decimal
    win_rate: Decimal | None
    max_drawdown_pct: Decimal
    trades: int
    volume: Decimal
    equity: Decimal
    rank: int = 0
    handle: str = ""
    rank_return: int | None = None
    rank_pnl: int | None = None
    eligible: bool = False


def _figures(row: dict[str, Any], *extra: str) -> Figures:
    """``row``: a read's columns (``sql.page_rows``/``profile_rows``), the stored row's and the
    computed ones alike; ``extra``: those of them to keep (``Figures``' optional fields)."""
    return Figures(
        user_id=row["user_id"],
        is_bot=row["is_bot"],
        return_pct=row["return_pct"],
        pnl=row["pnl"],
        win_rate=row["win_rate"],
        max_drawdown_pct=row["max_drawdown_pct"],
        trades=row["trades"],
        volume=row["volume"],
        equity=row["equity"],
        **{name: row[name] for name in extra},
    )


@dataclass(frozen=True)
class LeaderboardPage:
    rows: list[Figures]  # each with ``rank`` and ``handle``
    more: bool  # ranks follow the last row
    computed_at: datetime | None
    places: int  # the reference asset's decimals


@reads_replica
def leaderboard_page(
    *, period: str, sort: str, bots_excluded: bool, after_rank: int, limit: int
) -> LeaderboardPage:
    """The rows ranked ``after_rank + 1`` to ``after_rank + limit`` in the ranking of ``sort``,
    in rank order, in one statement (the rows say when they were computed)."""
    rows = sql.page_rows(
        period=period,
        ranking=rank_column(sort=sort, bots_excluded=bots_excluded),
        first=after_rank + 1,
        last=after_rank + limit + 1,  # one more: is there a next page?
        reference=settings.RANKINGS_REFERENCE_ASSET,
    )
    if not rows:
        return LeaderboardPage(
            rows=[], more=False, computed_at=rankings_computed_at(), places=reference_places()
        )
    meta = rows[0]
    return LeaderboardPage(
        rows=[_figures(row, "rank", "handle") for row in rows[:limit]],
        more=len(rows) > limit,
        computed_at=meta["rankings_computed_at"],
        places=_places(meta["reference_places"]),
    )


def _places(decimals: int | None) -> int:
    return DEFAULT_PLACES if decimals is None else decimals


def reference_places() -> int:
    """The reference asset's decimals (amounts are shown at them)."""
    asset = Asset.objects.filter(symbol=settings.RANKINGS_REFERENCE_ASSET).only("decimals").first()
    return _places(asset.decimals if asset else None)


def rankings_computed_at() -> datetime | None:
    state = RankingsState.objects.filter(pk=1).only("computed_at").first()
    return state.computed_at if state else None


@dataclass(frozen=True)
class PublicTrader:
    """A trader who shows in rankings, as their profile names them."""

    pk: int
    handle: str
    is_bot: bool


_HANDLE = re.compile(HANDLE_PATTERN)


@reads_replica
def public_trader_get(*, handle: str) -> PublicTrader | None:
    """The trader with this handle (any case) if they show in rankings: opted in, not
    excluded, active. None otherwise, so that an opted-out trader is indistinguishable from
    an unknown one, and for anything that is not a handle."""
    if not isinstance(handle, str) or not _HANDLE.fullmatch(handle):
        return None
    found = sql.public_trader(handle_lower=handle.lower())
    return None if found is None else PublicTrader(*found)


@dataclass(frozen=True)
class CurvePoint:
    """A point of the equity curve as the API shows it (``sql.CURVE`` formats them)."""

    at: str  # ISO 8601 UTC with milliseconds
    return_pct: str  # 2 decimals


@dataclass(frozen=True)
class AssetShare:
    asset: str
    pct: Decimal


@dataclass(frozen=True)
class TraderProfile:
    user: PublicTrader | User
    periods: dict[str, Figures | None]
    curve: list[CurvePoint]
    asset_mix: list[AssetShare]
    fills: list[PublicFill]
    fills_before: datetime
    computed_at: datetime | None
    places: int  # the reference asset's decimals


def _asset_mix(user_id: int) -> list[AssetShare]:
    """The trader's holdings as shares of their equity, at the last refresh's prices."""
    values = {symbol: value for symbol, value in sql.holdings_valued(user_id=user_id) if value > 0}
    total = sum(values.values(), Decimal(0))
    if total <= 0:
        return []
    shares = [
        AssetShare(asset=symbol, pct=(value / total * 100).quantize(Decimal("0.01")))
        for symbol, value in values.items()
    ]
    return sorted(shares, key=lambda share: (-share.pct, share.asset))


@reads_replica
def trader_profile(*, user: PublicTrader | User, now: datetime | None = None) -> TraderProfile:
    now = now or timezone.now()
    found = sql.profile_rows(user_id=user.pk, reference=settings.RANKINGS_REFERENCE_ASSET)
    rows = {row["period"]: _figures(row, "rank_return", "rank_pnl", "eligible") for row in found}
    if found:
        computed_at, places = (
            found[0]["rankings_computed_at"],
            _places(found[0]["reference_places"]),
        )
    else:
        computed_at, places = rankings_computed_at(), reference_places()
    curve = [
        CurvePoint(at=at, return_pct=pct)
        for at, pct in sql.curve(user_id=user.pk, points=CURVE_POINTS, now=now)
    ]
    # the last point is at now while its hour runs; after it, now's figure is added
    whole, now_at = rows.get("all"), iso_ms(now)
    if whole is not None and (not curve or curve[-1].at != now_at):
        curve.append(CurvePoint(at=now_at, return_pct=format_decimal(whole.return_pct, 2)))
    fills_before = now - timedelta(seconds=settings.RANKINGS_FILLS_DELAY_S)
    return TraderProfile(
        user=user,
        periods={period: rows.get(period) for period in Period.values},
        curve=curve,
        asset_mix=_asset_mix(user.pk),
        fills=fill_list_older_than(user_id=user.pk, before=fills_before, limit=PROFILE_FILLS),
        fills_before=fills_before,
        computed_at=computed_at,
        places=places,
    )
