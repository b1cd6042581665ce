"""Refresh and rebuild of the rankings (docs/rankings.md). The SQL is in ``rankings/sql.py``."""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from rankings import sql
from wallets.errors import UnknownAsset
from wallets.selectors import asset_active_get

logger = logging.getLogger(__name__)


def _reference_asset_id() -> int | None:
    """The reference asset's id; None (and a warning) while it does not exist (a fresh
    database before its assets are seeded), when there is nothing to rank anyway."""
    try:
        return asset_active_get(symbol=settings.RANKINGS_REFERENCE_ASSET).pk
    except UnknownAsset:
        logger.warning(
            "rankings: reference asset %s does not exist; nothing computed",
            settings.RANKINGS_REFERENCE_ASSET,
        )
        return None


def _run(
    *,
    now: datetime,
    fill_lo: int,
    entry_lo: int,
    fill_hi: int,
    entry_hi: int,
    prev_hour: datetime | None,
    full: bool = False,
) -> None:
    reference_asset_id = _reference_asset_id()
    if reference_asset_id is None:
        return
    sql.pipeline_run(
        now=now,
        reference_asset_id=reference_asset_id,
        fill_range=(fill_lo, fill_hi),
        entry_range=(entry_lo, entry_hi),
        prev_hour=prev_hour,
        min_equity=Decimal(settings.RANKINGS_MIN_EQUITY),
        min_trades=settings.RANKINGS_MIN_TRADES,
        full=full,
    )


def rankings_refresh(*, now: datetime | None = None) -> None:
    """Roll up the fills and cash flows committed since the last refresh and rewrite the
    leaderboards. Serialised with other refreshes and rebuilds by an advisory lock; idempotent
    (a refresh with nothing new only re-marks the leaderboards at ``now``)."""
    now = now or timezone.now()
    with transaction.atomic():
        fill_hi, entry_hi = sql.sources_high_water()
    with transaction.atomic():
        sql.rankings_lock()
        fill_lo, entry_lo, prev_hour = sql.state_get()
        _run(
            now=now,
            fill_lo=fill_lo,
            entry_lo=entry_lo,
            fill_hi=max(fill_hi, fill_lo),
            entry_hi=max(entry_hi, entry_lo),
            prev_hour=prev_hour,
        )


def rankings_rebuild(*, now: datetime | None = None) -> None:
    """Empty every rankings table and compute it all again from the fills and the ledger; the
    result equals what the refreshes built (same SQL, from watermark 0)."""
    now = now or timezone.now()
    with transaction.atomic():
        fill_hi, entry_hi = sql.sources_high_water()
    with transaction.atomic():
        sql.rankings_lock()
        sql.tables_truncate()
        _run(
            now=now,
            fill_lo=0,
            entry_lo=0,
            fill_hi=fill_hi,
            entry_hi=entry_hi,
            prev_hour=None,
            full=True,
        )
