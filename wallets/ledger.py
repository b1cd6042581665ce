"""The ledger core: ``ledger_post``, the one writer of ``Balance`` and ``LedgerEntry``.

It posts many journals at once (settlement batches) and takes the Balance row locks itself, in
primary-key order. A posting between the two buckets of one balance (a hold or a release) is one
statement (``BucketMove``, ``wallets.sql.bucket_move_sql``), which order placement embeds in its
own statement. The single movement services (``wallets.services.wallet_credit`` ...) are thin
wrappers around ``ledger_post``.

Lock order across the project: domain rows first (the order, the withdrawal, the user's Account
for the deposit cap), Balance rows last, and Balance rows only through ``ledger_post``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from tradehive.errors import InvalidInput
from tradehive.money import decimal_places
from tradehive.sql import prepared_cursor
from wallets import sql
from wallets.errors import InsufficientFunds
from wallets.models import Account, Asset, Balance, Bucket, JournalTransaction

_KINDS = frozenset(JournalTransaction.Kind.values)
_BUCKETS = frozenset(Bucket.values)


@dataclass(frozen=True, slots=True)
class Leg:
    """One signed change of one bucket (``"available"`` or ``"locked"``) of one balance."""

    account_id: int
    asset_id: int
    bucket: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Posting:
    """One journal to post: its legs must sum to zero per asset."""

    kind: str
    reference: str
    legs: Sequence[Leg]
    memo: str = ""


@dataclass(frozen=True, slots=True)
class BucketMove:
    """A posting between the two buckets of one balance: ``amount`` out of ``from_bucket`` into
    the other one (``available`` -> ``locked`` is a hold, the reverse a release). Its legs, in
    this order: ``from_bucket`` -amount, the other bucket +amount."""

    asset_id: int
    amount: Decimal
    from_bucket: str
    kind: str
    memo: str = ""

    def legs(self, account_id: int) -> list[Leg]:
        to_bucket = Bucket.LOCKED if self.from_bucket == Bucket.AVAILABLE else Bucket.AVAILABLE
        return [
            Leg(account_id, self.asset_id, self.from_bucket, -self.amount),
            Leg(account_id, self.asset_id, to_bucket, self.amount),
        ]


def bucket_move_params(move: BucketMove, *, now: datetime) -> dict[str, object]:
    """The named parameters of ``wallets.sql.bucket_move_sql`` for ``move`` written at ``now``."""
    hold = move.from_bucket == Bucket.AVAILABLE
    return {
        "move_asset": move.asset_id,
        "move_amount": move.amount,
        "move_available": -move.amount if hold else move.amount,
        "move_locked": move.amount if hold else -move.amount,
        "move_from": move.from_bucket,
        "move_to": Bucket.LOCKED if hold else Bucket.AVAILABLE,
        "move_places": decimal_places(move.amount),
        "move_kind": move.kind,
        "move_memo": move.memo,
        "move_now": now,
    }


def ledger_post(*, postings: Sequence[Posting]) -> list[JournalTransaction]:
    """Post many journals at once; the only writer of ``Balance`` and ``LedgerEntry``.

    Contract:
    - The caller owns the transaction (``transaction.atomic``) and holds no Balance locks; this
      takes them all at once with SELECT ... FOR UPDATE in primary-key order (creating missing
      Balance rows first), so concurrent callers never deadlock.
    - Legs are applied in order (postings in order, legs in order); ``balance_after`` is the
      bucket after each leg. If any bucket of a non-external account would go below zero,
      ``InsufficientFunds`` is raised and nothing is written.
    - Each posting must have >= 2 legs summing to zero per asset, non-zero amounts with no more
      decimals than the asset has (finer amounts: ``InvalidInput``; the caller quantizes).
    - Queries: 4 for any number of postings when every Balance row exists (the lock
      reads the assets' decimals too); 1 for a single posting between the two buckets of one
      balance (a hold or a release, ``_one_balance_post``) that goes through.
    Returns the journals, in the order of ``postings``, with their ids."""
    if not postings:
        return []
    if not connection.in_atomic_block:
        raise RuntimeError("ledger_post must run inside the caller's transaction.atomic()")
    for posting in postings:
        _posting_check(posting)
    if len(postings) == 1:
        journal = _one_balance_post(postings[0])
        if journal is not None:
            return [journal]

    keys = sorted({(leg.account_id, leg.asset_id) for p in postings for leg in p.legs})
    balances, decimals = _balances_lock(keys)
    for posting in postings:
        _posting_places_check(posting, decimals)

    afters: list[list[Decimal]] = []
    for posting in postings:
        after_of_posting = []
        for leg in posting.legs:
            balance = balances[(leg.account_id, leg.asset_id)]
            if leg.bucket == Bucket.AVAILABLE:
                balance.available += leg.amount
                after = balance.available
            else:
                balance.locked += leg.amount
                after = balance.locked
            if after < 0 and not balance.may_go_negative:
                # The reference ("order:12") is an internal name: the user's message goes without.
                raise InsufficientFunds(f"Insufficient {leg.bucket} funds.")
            after_of_posting.append(after)
        afters.append(after_of_posting)

    _balances_save(list(balances.values()))
    now = timezone.now()
    return _journals_insert(postings, afters, now)


def _posting_check(posting: Posting) -> None:
    """Kinds, buckets, amounts and the zero sum; the precision check needs the assets'
    decimals and runs once the balances are locked (``_posting_places_check``)."""
    if posting.kind not in _KINDS:
        raise ValueError(f"unknown journal kind {posting.kind!r}")
    if len(posting.legs) < 2:
        raise ValueError("a journal needs at least two legs")
    sums: dict[int, Decimal] = defaultdict(Decimal)
    for leg in posting.legs:
        if leg.bucket not in _BUCKETS:
            raise ValueError(f"unknown bucket {leg.bucket!r}")
        amount = leg.amount
        if not isinstance(amount, Decimal) or not amount.is_finite() or amount == 0:
            raise ValueError(f"a leg amount must be a finite non-zero Decimal, not {amount!r}")
        sums[leg.asset_id] += amount
    if any(total != 0 for total in sums.values()):
        raise ValueError(f"journal {posting.reference!r} does not balance: {dict(sums)}")


def _posting_places_check(posting: Posting, decimals: dict[int, int]) -> None:
    for leg in posting.legs:
        if decimal_places(leg.amount) > decimals[leg.asset_id]:
            raise InvalidInput(
                f"At most {decimals[leg.asset_id]} decimal places are allowed for this asset.",
                fields={"amount": ["Too many decimal places for this asset."]},
            )


def _balances_lock(
    keys: list[tuple[int, int]],
) -> tuple[dict[tuple[int, int], Balance], dict[int, int]]:
    """SELECT ... FOR UPDATE the balances of ``keys`` in primary-key order; insert missing ones.
    Returns them by key, and the decimals of their assets (read with the locks).

    Existing rows are locked first (pk order), then missing rows are inserted in key order; a
    row we insert is ours until commit. Two callers that each hold no other Balance lock can
    therefore never wait on each other in a cycle. An asset id that does not exist is a
    ``ValueError`` before anything is written."""
    found, decimals = _balances_select(keys)
    missing = [key for key in keys if key not in found]
    if missing:
        decimals.update(
            Asset.objects.filter(id__in={asset_id for _, asset_id in missing}).values_list(
                "id", "decimals"
            )
        )
        unknown_assets = {asset_id for _, asset_id in missing} - decimals.keys()
        if unknown_assets:
            raise ValueError(f"unknown asset id {min(unknown_assets)}")
        kinds = dict(
            Account.objects.filter(id__in={account_id for account_id, _ in missing}).values_list(
                "id", "kind"
            )
        )
        unknown = {account_id for account_id, _ in missing} - kinds.keys()
        if unknown:
            raise ValueError(f"unknown account ids {sorted(unknown)}")
        Balance.objects.bulk_create(
            [
                Balance(
                    account_id=account_id,
                    asset_id=asset_id,
                    may_go_negative=kinds[account_id] == Account.Kind.EXTERNAL,
                )
                for account_id, asset_id in missing
            ],
            ignore_conflicts=True,  # a concurrent caller created it first: lock theirs below
        )
        created, _ = _balances_select(missing)
        found.update(created)
    return found, decimals


def _balances_select(
    keys: list[tuple[int, int]],
) -> tuple[dict[tuple[int, int], Balance], dict[int, int]]:
    account_ids, asset_ids = zip(*keys, strict=True)
    with prepared_cursor() as cursor:
        cursor.execute(sql.BALANCES_LOCK_SQL, [list(account_ids), list(asset_ids)])
        rows = cursor.fetchall()
    balances: dict[tuple[int, int], Balance] = {}
    decimals: dict[int, int] = {}
    alias = connection.alias
    for row in rows:
        balance = Balance.from_db(alias, sql.BALANCE_FIELDS, row[:6])
        balances[(balance.account_id, balance.asset_id)] = balance
        decimals[balance.asset_id] = row[6]
    return balances, decimals


def _balances_save(balances: list[Balance]) -> None:
    with prepared_cursor() as cursor:
        cursor.execute(
            sql.BALANCES_SAVE_SQL,
            (
                [b.pk for b in balances],
                [b.available for b in balances],
                [b.locked for b in balances],
            ),
        )


def _one_balance_post(posting: Posting) -> JournalTransaction | None:
    """``ledger_post`` of one checked posting that is a ``BucketMove`` (two legs moving an
    amount between the buckets of one balance), in one statement. None when the posting has
    another shape or the statement changed nothing (no Balance row yet, too few funds, too many
    decimals): the general path then creates the row, or raises with the usual error, in the
    same transaction."""
    if len(posting.legs) != 2:
        return None
    first, second = posting.legs
    if (
        (first.account_id, first.asset_id) != (second.account_id, second.asset_id)
        or first.bucket == second.bucket
        or first.amount >= 0
    ):
        return None
    move = BucketMove(
        asset_id=first.asset_id,
        amount=-first.amount,
        from_bucket=first.bucket,
        kind=posting.kind,
        memo=posting.memo,
    )
    now = timezone.now()
    with prepared_cursor() as cursor:
        cursor.execute(
            sql.ONE_BALANCE_POST_SQL,
            {
                **bucket_move_params(move, now=now),
                "account": first.account_id,
                "reference": posting.reference,
            },
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return JournalTransaction(
        pk=row[0], kind=posting.kind, reference=posting.reference, memo=posting.memo, created_at=now
    )


def _journals_insert(
    postings: Sequence[Posting], afters: list[list[Decimal]], now: datetime
) -> list[JournalTransaction]:
    """The journals and their entries, in two statements fed by column arrays.

    Settlement posts thousands of journals a second; building model instances and a VALUES
    list per row cost more than the database work."""
    with prepared_cursor() as cursor:
        cursor.execute(
            sql.JOURNALS_INSERT_SQL,
            (
                now,
                [p.kind for p in postings],
                [p.reference for p in postings],
                [p.memo for p in postings],
            ),
        )
        ids: list[int] = [row[0] for row in cursor.fetchall()]
        columns: tuple[list[object], ...] = ([], [], [], [], [], [])
        for journal_id, posting, after_of_posting in zip(ids, postings, afters, strict=True):
            for leg, after in zip(posting.legs, after_of_posting, strict=True):
                for column, value in zip(
                    columns,
                    (journal_id, leg.account_id, leg.asset_id, leg.bucket, leg.amount, after),
                    strict=True,
                ):
                    column.append(value)
        cursor.execute(sql.ENTRIES_INSERT_SQL, columns)
    return [
        JournalTransaction(
            pk=journal_id, kind=p.kind, reference=p.reference, memo=p.memo, created_at=now
        )
        for journal_id, p in zip(ids, postings, strict=True)
    ]
