"""Ledger verification: what ``manage.py ledger_check`` reads.

``ledger_verify`` checks the ledger's invariants (entries sum to zero, balances match their
entries, locked amounts match the open holds registered in ``wallets.holds``); ``ledger_summary``
totals what each kind of account holds per asset. Read-only."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import redis
from django.db.models import Count, Sum

from tradehive.redis_client import get_redis
from wallets.holds import open_holds, stuck_holds
from wallets.models import Account, Asset, Balance, Bucket, LedgerEntry

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LedgerProblem:
    check: str  # entries_sum, journal_sum, balance_mismatch, negative, flag, holds, stuck_hold
    asset: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.check}] {self.asset}: {self.detail}"


EntrySums = tuple[
    dict[int, Decimal], dict[tuple[int, int], Decimal], dict[tuple[int, int, str], Decimal]
]


def _entry_sums() -> EntrySums:
    """Entry sums per asset, per (journal, asset) and per (account, asset, bucket), summed
    exactly (NUMERIC) by PostgreSQL."""
    by_asset: dict[int, Decimal] = defaultdict(Decimal)
    by_journal: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    by_bucket: dict[tuple[int, int, str], Decimal] = defaultdict(Decimal)
    for row in LedgerEntry.objects.values("asset_id").annotate(total=Sum("amount")):
        by_asset[row["asset_id"]] = row["total"]
    for row in (
        LedgerEntry.objects.values("journal_id", "asset_id")
        .annotate(total=Sum("amount"))
        .exclude(total=0)
    ):
        by_journal[(row["journal_id"], row["asset_id"])] = row["total"]
    for row in LedgerEntry.objects.values("account_id", "asset_id", "bucket").annotate(
        total=Sum("amount")
    ):
        by_bucket[(row["account_id"], row["asset_id"], row["bucket"])] = row["total"]
    return dict(by_asset), dict(by_journal), dict(by_bucket)


def ledger_verify() -> list[LedgerProblem]:
    """Check the ledger's invariants; an empty list means all hold.

    - all entries of each asset, and of each journal per asset, sum to zero;
    - every balance's available/locked equals the sum of its entries per bucket;
    - no balance of a non-external account is negative (and only external may be);
    - every locked amount equals the open holds registered in ``wallets.holds``;
    - no hold belongs to something that can never release it (``wallets.holds.stuck_holds``:
      a closed order still holding funds, a pending order the engine can never take).
    Read-only; run it when writers are quiet (a posting between two queries shows up as a
    transient mismatch)."""
    symbols = dict(Asset.objects.values_list("id", "symbol"))
    problems: list[LedgerProblem] = []
    by_asset, by_journal, sums = _entry_sums()
    for asset_id, total in by_asset.items():
        if total != 0:
            problems.append(
                LedgerProblem("entries_sum", symbols[asset_id], f"entries sum to {total}, not 0")
            )
    for (journal_id, asset_id), total in by_journal.items():
        if total != 0:
            problems.append(
                LedgerProblem(
                    "journal_sum", symbols[asset_id], f"journal {journal_id} sums to {total}"
                )
            )
    holds = open_holds()
    seen: set[tuple[int, int]] = set()
    for balance in Balance.objects.select_related("account").order_by("pk"):
        key = (balance.account_id, balance.asset_id)
        seen.add(key)
        symbol = symbols[balance.asset_id]
        where = f"account {balance.account_id} ({balance.account.kind})"
        for bucket_name, value in (
            (Bucket.AVAILABLE.value, balance.available),
            (Bucket.LOCKED.value, balance.locked),
        ):
            expected = sums.get((*key, bucket_name), Decimal(0))
            if value != expected:
                problems.append(
                    LedgerProblem(
                        "balance_mismatch",
                        symbol,
                        f"{where} {bucket_name} is {value} but its entries sum to {expected}",
                    )
                )
        external = balance.account.kind == Account.Kind.EXTERNAL
        if balance.may_go_negative != external:
            problems.append(
                LedgerProblem("flag", symbol, f"{where} may_go_negative={balance.may_go_negative}")
            )
        if not external and (balance.available < 0 or balance.locked < 0):
            problems.append(
                LedgerProblem(
                    "negative",
                    symbol,
                    f"{where} available {balance.available}, locked {balance.locked}",
                )
            )
        if not external and balance.locked != holds.get(key, Decimal(0)):
            problems.append(
                LedgerProblem(
                    "holds",
                    symbol,
                    f"{where} locked {balance.locked} but open holds are "
                    f"{holds.get(key, Decimal(0))}",
                )
            )
    for (account_id, asset_id, bucket), total in sums.items():
        if (account_id, asset_id) not in seen:
            problems.append(
                LedgerProblem(
                    "balance_mismatch",
                    symbols[asset_id],
                    f"account {account_id} has {bucket} entries summing to {total} but no balance",
                )
            )
    for (account_id, asset_id), amount in holds.items():
        if (account_id, asset_id) not in seen and amount != 0:
            problems.append(
                LedgerProblem(
                    "holds",
                    symbols.get(asset_id, str(asset_id)),
                    f"account {account_id} has open holds of {amount} but no balance",
                )
            )
    for asset_id, detail in stuck_holds():
        problems.append(
            LedgerProblem(
                "stuck_hold",
                symbols.get(asset_id, str(asset_id)),
                f"{detail} (it can never be released by settlement)",
            )
        )
    return problems


@dataclass(frozen=True)
class AssetSummary:
    symbol: str
    entries: int
    entries_sum: Decimal
    users_available: Decimal
    users_locked: Decimal
    fee: Decimal
    house: Decimal
    external: Decimal


def ledger_summary() -> list[AssetSummary]:
    """Per asset: entry count and sum, and what each kind of account holds in total."""
    totals: dict[tuple[int, str, str], Decimal] = {}
    for row in Balance.objects.values("asset_id", "account__kind").annotate(
        available=Sum("available"), locked=Sum("locked")
    ):
        totals[(row["asset_id"], row["account__kind"], "available")] = row["available"]
        totals[(row["asset_id"], row["account__kind"], "locked")] = row["locked"]
    entries = {
        row["asset_id"]: row
        for row in LedgerEntry.objects.values("asset_id").annotate(
            count=Count("id"), total=Sum("amount")
        )
    }
    zero = Decimal(0)

    def held(asset_id: int, kind: str) -> Decimal:
        return totals.get((asset_id, kind, "available"), zero) + totals.get(
            (asset_id, kind, "locked"), zero
        )

    return [
        AssetSummary(
            symbol=asset.symbol,
            entries=entries.get(asset.pk, {}).get("count", 0),
            entries_sum=entries.get(asset.pk, {}).get("total", zero),
            users_available=totals.get((asset.pk, Account.Kind.USER, "available"), zero),
            users_locked=totals.get((asset.pk, Account.Kind.USER, "locked"), zero),
            fee=held(asset.pk, Account.Kind.FEE),
            house=held(asset.pk, Account.Kind.HOUSE),
            external=held(asset.pk, Account.Kind.EXTERNAL),
        )
        for asset in Asset.objects.order_by("symbol")
    ]


LAST_CHECK_KEY = "wallets:ledger_check:last"  # Redis hash: ok, problems, at (epoch s)


def ledger_check_record() -> int:
    """Run ``ledger_verify`` and keep its outcome in Redis for ``/metrics``
    (``wallets.metrics``); a failure is also an ERROR log line naming the problems."""
    problems = ledger_verify()
    for problem in problems[:20]:
        logger.error("ledger_check: %s", problem)
    try:
        get_redis().hset(
            LAST_CHECK_KEY,
            mapping={"ok": int(not problems), "problems": len(problems), "at": time.time()},
        )
    except redis.RedisError:
        logger.exception("ledger_check: could not record the outcome")
    return len(problems)


def ledger_check_last() -> dict[str, float] | None:
    """The last recorded ``ledger_check_record`` outcome, None if none was recorded."""
    stored = get_redis().hgetall(LAST_CHECK_KEY)
    if not stored:
        return None
    return {name: float(value) for name, value in stored.items()}
