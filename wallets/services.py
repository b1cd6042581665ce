"""Wallet writes. Money moves only through the ledger services in this module.

``ledger_post`` is the one function that changes balances: it posts many journals at once
(settlement batches) and takes the Balance row locks itself, in primary-key order. The single
movement services (``wallet_credit``, ``wallet_debit``, ``wallet_hold``, ``wallet_release``,
``wallet_transfer_locked``) are thin wrappers around it.

Lock order across the project: domain rows first (the order, the withdrawal, the user's Account
for the deposit cap), Balance rows last, and Balance rows only through ``ledger_post``."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal

from django.db import connection, transaction
from django.db.models import Count, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone

from accounts.audit import audit_record
from accounts.mfa import mfa_check
from accounts.models import User
from tradehive.errors import InvalidInput, NotFound
from tradehive.money import decimal_places, format_decimal
from tradehive.sql import prepared_cursor
from wallets import conf
from wallets.errors import (
    DepositLimitExceeded,
    DepositsDisabled,
    InsufficientFunds,
    InvalidAddress,
    WithdrawalBelowMinimum,
    WithdrawalNotPending,
    WithdrawalsDisabled,
)
from wallets.holds import open_holds, stuck_holds
from wallets.models import (
    Account,
    Asset,
    Balance,
    Bucket,
    Deposit,
    JournalTransaction,
    LedgerEntry,
    Withdrawal,
)
from wallets.notifications import withdrawal_notify
from wallets.selectors import asset_active_get

# symbol, name, decimals, withdrawal fee, withdrawal minimum, address pattern
DEFAULT_ASSETS: list[tuple[str, str, int, str, str, str]] = [
    ("KRW", "Korean won", 0, "1000", "5000", r"^[0-9]{10,14}$"),
    ("USDT", "Tether USD", 6, "1", "10", r"^0x[0-9a-fA-F]{40}$"),
    ("BTC", "Bitcoin", 8, "0.0005", "0.001",
     r"^(bc1[02-9ac-hj-np-z]{11,71}|[13][1-9A-HJ-NP-Za-km-z]{25,34})$"),
    ("ETH", "Ethereum", 8, "0.005", "0.01", r"^0x[0-9a-fA-F]{40}$"),
    ("XRP", "XRP", 6, "0.4", "20", r"^r[1-9A-HJ-NP-Za-km-z]{24,34}$"),
    ("LPJ", "LPJ house coin", 4, "1", "10", r"^lpj1[0-9a-z]{20,60}$"),
]

# An address for an asset without its own pattern: 8-100 printable ASCII characters, no spaces.
DEFAULT_ADDRESS_PATTERN = r"^[\x21-\x7e]{8,100}$"
# Largest single amount accepted from a user (the API's DecimalString bound too).
MAX_AMOUNT = Decimal("1e18")

_KINDS = frozenset(JournalTransaction.Kind.values)
_BUCKETS = frozenset(Bucket.values)


@transaction.atomic
def asset_seed_defaults() -> list[Asset]:
    """Create the default assets if missing (idempotent; existing rows are left as they are)."""
    assets = []
    for symbol, name, decimals, fee, minimum, pattern in DEFAULT_ASSETS:
        asset, _ = Asset.objects.get_or_create(
            symbol=symbol,
            defaults={"name": name, "decimals": decimals, "withdrawal_fee": Decimal(fee),
                      "withdrawal_min": Decimal(minimum), "address_pattern": pattern},
        )
        assets.append(asset)
    return assets


# --- accounts ----------------------------------------------------------------------------------

def wallet_account_get(*, user: User) -> Account:
    """The user's account, created on first use. Race-free: ``Account.user`` is unique and
    ``get_or_create`` re-reads after losing an insert race."""
    account, _ = Account.objects.get_or_create(user=user, defaults={"kind": Account.Kind.USER})
    return account


def wallet_account_id_get(*, user: User) -> int:
    """The id of the user's account (created on first use): one indexed read, no model built.
    Order placement asks for it on every order."""
    with prepared_cursor() as cursor:
        cursor.execute(_ACCOUNT_ID_SQL, [user.pk])
        row = cursor.fetchone()
    return row[0] if row is not None else wallet_account_get(user=user).pk


_ACCOUNT_ID_SQL = "SELECT id FROM wallets_account WHERE user_id = %s"


def wallet_system_account(*, kind: str) -> Account:
    """The one system account of ``kind`` (``fee``, ``house`` or ``external``), created on first
    use (a partial unique constraint keeps it one)."""
    if kind not in {Account.Kind.FEE, Account.Kind.HOUSE, Account.Kind.EXTERNAL}:
        raise ValueError(f"not a system account kind: {kind!r}")
    account, _ = Account.objects.get_or_create(kind=kind, user=None)
    return account


# --- the ledger --------------------------------------------------------------------------------

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


def _balances_lock(keys: list[tuple[int, int]]
                   ) -> tuple[dict[tuple[int, int], Balance], dict[int, int]]:
    """SELECT ... FOR UPDATE the balances of ``keys`` in primary-key order; insert missing ones.
    Returns them by key, and the decimals of their assets (read with the locks on PostgreSQL).

    Existing rows are locked first (pk order), then missing rows are inserted in key order; a
    row we insert is ours until commit. Two callers that each hold no other Balance lock can
    therefore never wait on each other in a cycle. An asset id that does not exist is a
    ``ValueError`` before anything is written."""
    found, decimals = _balances_select(keys)
    missing = [key for key in keys if key not in found]
    if missing:
        decimals.update(Asset.objects.filter(id__in={asset_id for _, asset_id in missing})
                        .values_list("id", "decimals"))
        unknown_assets = {asset_id for _, asset_id in missing} - decimals.keys()
        if unknown_assets:
            raise ValueError(f"unknown asset id {min(unknown_assets)}")
        kinds = dict(
            Account.objects.filter(id__in={account_id for account_id, _ in missing})
            .values_list("id", "kind")
        )
        unknown = {account_id for account_id, _ in missing} - kinds.keys()
        if unknown:
            raise ValueError(f"unknown account ids {sorted(unknown)}")
        Balance.objects.bulk_create(
            [Balance(account_id=account_id, asset_id=asset_id,
                     may_go_negative=kinds[account_id] == Account.Kind.EXTERNAL)
             for account_id, asset_id in missing],
            ignore_conflicts=True,  # a concurrent caller created it first: lock theirs below
        )
        created, _ = _balances_select(missing)
        found.update(created)
    return found, decimals


# The rows ``ledger_post`` changes, locked in primary-key order (the LockRows step takes them as
# the sort yields them), with their assets' decimals; OF b: the asset rows are not locked.
_BALANCES_LOCK_SQL = (
    "SELECT b.id, b.account_id, b.asset_id, b.available, b.locked, b.may_go_negative, a.decimals"
    " FROM wallets_balance b"
    " JOIN unnest(%s::bigint[], %s::bigint[]) AS k(account_id, asset_id)"
    " ON b.account_id = k.account_id AND b.asset_id = k.asset_id"
    " JOIN wallets_asset a ON a.id = b.asset_id"
    " ORDER BY b.id FOR NO KEY UPDATE OF b"
)


def _balances_select(keys: list[tuple[int, int]]
                     ) -> tuple[dict[tuple[int, int], Balance], dict[int, int]]:
    account_ids, asset_ids = zip(*keys, strict=True)
    with connection.cursor() as cursor:
        cursor.execute(_BALANCES_LOCK_SQL, [list(account_ids), list(asset_ids)])
        rows = cursor.fetchall()
    balances, decimals = {}, {}
    alias = connection.alias
    for row in rows:
        balance = Balance.from_db(alias, _BALANCE_FIELDS, row[:6])
        balances[(balance.account_id, balance.asset_id)] = balance
        decimals[balance.asset_id] = row[6]
    return balances, decimals


_BALANCE_FIELDS = tuple(field.attname for field in Balance._meta.concrete_fields)
assert _BALANCE_FIELDS == ("id", "account_id", "asset_id", "available", "locked",
                           "may_go_negative"), _BALANCE_FIELDS  # _BALANCES_LOCK_SQL's columns


def _balances_save(balances: list[Balance]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE wallets_balance AS b SET available = v.available, locked = v.locked"
            " FROM unnest(%s::bigint[], %s::numeric[], %s::numeric[])"
            " AS v(id, available, locked) WHERE b.id = v.id",
            ([b.pk for b in balances], [b.available for b in balances],
             [b.locked for b in balances]),
        )


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
      balance (a hold or a release, ``_one_balance_post_pg``) that goes through.
    Returns the journals, in the order of ``postings``, with their ids."""
    if not postings:
        return []
    if not connection.in_atomic_block:
        raise RuntimeError("ledger_post must run inside the caller's transaction.atomic()")
    for posting in postings:
        _posting_check(posting)
    if len(postings) == 1:
        journal = _one_balance_post_pg(postings[0])
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
                raise InsufficientFunds(
                    f"Insufficient {leg.bucket} funds for {posting.reference}.",
                )
            after_of_posting.append(after)
        afters.append(after_of_posting)

    _balances_save(list(balances.values()))
    now = timezone.now()
    return _journals_insert_pg(postings, afters, now)


# --- one-balance postings in one statement -----------------------------------------------------

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
        return [Leg(account_id, self.asset_id, self.from_bucket, -self.amount),
                Leg(account_id, self.asset_id, to_bucket, self.amount)]


def bucket_move_sql(*, account: str, reference: str, condition: str = "TRUE") -> tuple[str, str]:
    """A ``BucketMove`` as two parts of a WITH list, for one statement that writes it (one row
    lock, so no lock order to keep):

    - ``moved``: the UPDATE of the balance of (``account``, asset), applied only if ``condition``
      holds, the source bucket covers the amount (unless the account may go negative: the WHERE
      is re-checked on the latest row version after a lock wait, so two moves never both spend
      the same funds) and the amount fits the asset's decimals; it returns the row's account,
      available and locked;
    - ``move_journal``, ``move_entries``: the journal and its two entries (balance_after is each
      bucket's new value, one leg per bucket), written only if ``moved`` returned a row.

    ``account`` and ``reference`` are SQL expressions (``%(account)s``, a subquery, ``'order:' ||
    ...``) and ``condition`` a boolean one, over CTEs the caller defines before ``moved``; the
    named parameters are ``bucket_move_params``'. Used by ``ledger_post`` (one such posting) and
    by order placement, which writes the order in the same statement (``orders.services``)."""
    moved = f"""moved AS (
    UPDATE wallets_balance
    SET available = available + %(move_available)s, locked = locked + %(move_locked)s
    WHERE account_id = {account} AND asset_id = %(move_asset)s AND ({condition})
      AND (may_go_negative OR (available + %(move_available)s >= 0
                               AND locked + %(move_locked)s >= 0))
      AND EXISTS (SELECT 1 FROM wallets_asset a
                  WHERE a.id = %(move_asset)s AND a.decimals >= %(move_places)s)
    RETURNING account_id, available, locked
)"""  # noqa: S608 - the interpolated SQL is the callers' code, never input
    journal = f"""move_journal AS (
    INSERT INTO wallets_journaltransaction (kind, reference, memo, created_at)
    SELECT %(move_kind)s, {reference}, %(move_memo)s, %(move_now)s FROM moved
    RETURNING id
), move_entries AS (
    INSERT INTO wallets_ledgerentry
        (journal_id, account_id, asset_id, bucket, amount, balance_after)
    SELECT move_journal.id, moved.account_id, %(move_asset)s, leg.bucket, leg.amount,
           CASE leg.bucket WHEN 'available' THEN moved.available ELSE moved.locked END
    FROM move_journal, moved,
         (VALUES (1, %(move_from)s, -%(move_amount)s::numeric),
                 (2, %(move_to)s, %(move_amount)s::numeric)) AS leg(n, bucket, amount)
    ORDER BY leg.n
)"""  # noqa: S608 - the interpolated SQL is the callers' code, never input
    return moved, journal


def bucket_move_params(move: BucketMove, *, now: datetime) -> dict[str, object]:
    """The named parameters of ``bucket_move_sql`` for ``move`` written at ``now``."""
    hold = move.from_bucket == Bucket.AVAILABLE
    return {
        "move_asset": move.asset_id, "move_amount": move.amount,
        "move_available": -move.amount if hold else move.amount,
        "move_locked": move.amount if hold else -move.amount,
        "move_from": move.from_bucket, "move_to": Bucket.LOCKED if hold else Bucket.AVAILABLE,
        "move_places": decimal_places(move.amount), "move_kind": move.kind,
        "move_memo": move.memo, "move_now": now,
    }


def _one_balance_post_sql() -> str:
    moved, journal = bucket_move_sql(account="%(account)s", reference="%(reference)s")
    return f"WITH {moved}, {journal} SELECT id FROM move_journal"  # noqa: S608 - constant parts


_ONE_BALANCE_POST_SQL = _one_balance_post_sql()


def _one_balance_post_pg(posting: Posting) -> JournalTransaction | None:
    """``ledger_post`` of one checked posting that is a ``BucketMove`` (two legs moving an
    amount between the buckets of one balance), in one statement. None when the posting has
    another shape or the statement changed nothing (no Balance row yet, too few funds, too many
    decimals): the general path then creates the row, or raises with the usual error, in the
    same transaction."""
    if len(posting.legs) != 2:
        return None
    first, second = posting.legs
    if ((first.account_id, first.asset_id) != (second.account_id, second.asset_id)
            or first.bucket == second.bucket or first.amount >= 0):
        return None
    move = BucketMove(asset_id=first.asset_id, amount=-first.amount, from_bucket=first.bucket,
                      kind=posting.kind, memo=posting.memo)
    now = timezone.now()
    with prepared_cursor() as cursor:
        cursor.execute(_ONE_BALANCE_POST_SQL, {
            **bucket_move_params(move, now=now), "account": first.account_id,
            "reference": posting.reference})
        row = cursor.fetchone()
    if row is None:
        return None
    return JournalTransaction(pk=row[0], kind=posting.kind, reference=posting.reference,
                              memo=posting.memo, created_at=now)


def _journals_insert_pg(postings: Sequence[Posting], afters: list[list[Decimal]],
                        now: datetime) -> list[JournalTransaction]:
    """The same rows as the ``bulk_create`` path, in two statements fed by arrays.

    Settlement posts thousands of journals a second; building model instances and a VALUES
    list per row cost more than the database work. ``ORDER BY n`` makes the sequence hand out
    ids in the postings' order, which RETURNING reports in that order."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO wallets_journaltransaction (kind, reference, memo, created_at)"
            " SELECT kind, reference, memo, %s FROM unnest(%s::varchar[], %s::varchar[],"
            " %s::varchar[]) WITH ORDINALITY AS t(kind, reference, memo, n) ORDER BY n"
            " RETURNING id",
            (now, [p.kind for p in postings], [p.reference for p in postings],
             [p.memo for p in postings]),
        )
        ids = [row[0] for row in cursor.fetchall()]
        columns: tuple[list, list, list, list, list, list] = ([], [], [], [], [], [])
        for journal_id, posting, after_of_posting in zip(ids, postings, afters, strict=True):
            for leg, after in zip(posting.legs, after_of_posting, strict=True):
                for column, value in zip(columns, (journal_id, leg.account_id, leg.asset_id,
                                                   leg.bucket, leg.amount, after), strict=True):
                    column.append(value)
        cursor.execute(
            "INSERT INTO wallets_ledgerentry"
            " (journal_id, account_id, asset_id, bucket, amount, balance_after)"
            " SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::varchar[],"
            " %s::numeric[], %s::numeric[])",
            columns,
        )
    return [JournalTransaction(pk=journal_id, kind=p.kind, reference=p.reference, memo=p.memo,
                               created_at=now) for journal_id, p in zip(ids, postings, strict=True)]


# --- single movements --------------------------------------------------------------------------

def wallet_amount_check(*, asset: Asset, amount: Decimal, field: str = "amount") -> Decimal:
    """Refuse (``invalid_input``) an amount that is not a finite positive Decimal of at most the
    asset's decimals and at most 10^18; return it unchanged."""
    problem = None
    if not isinstance(amount, Decimal) or not amount.is_finite():
        problem = "Must be a finite decimal."
    elif amount <= 0:
        problem = "Must be greater than zero."
    elif amount > MAX_AMOUNT:
        problem = f"Must be at most {format_decimal(MAX_AMOUNT)}."
    elif decimal_places(amount) > asset.decimals:
        problem = f"At most {asset.decimals} decimal places are allowed for {asset.symbol}."
    if problem:
        raise InvalidInput(problem, fields={field: [problem]})
    return amount


def _post_one(kind: str, reference: str, legs: list[Leg], memo: str = "") -> JournalTransaction:
    with transaction.atomic():
        return ledger_post(postings=[Posting(kind=kind, reference=reference, legs=legs,
                                             memo=memo)])[0]


def wallet_credit(*, account: Account, asset: Asset, amount: Decimal, reference: str,
                  kind: str = JournalTransaction.Kind.DEPOSIT, source: Account | None = None,
                  memo: str = "") -> JournalTransaction:
    """Move ``amount`` from ``source``'s available (default: the external account) to
    ``account``'s available. Takes its own Balance locks (caller holds none)."""
    wallet_amount_check(asset=asset, amount=amount)
    source = source or wallet_system_account(kind=Account.Kind.EXTERNAL)
    return _post_one(kind, reference, [
        Leg(source.pk, asset.pk, Bucket.AVAILABLE, -amount),
        Leg(account.pk, asset.pk, Bucket.AVAILABLE, amount),
    ], memo)


def wallet_debit(*, account: Account, asset: Asset, amount: Decimal, reference: str,
                 kind: str = JournalTransaction.Kind.WITHDRAWAL,
                 destination: Account | None = None, memo: str = "") -> JournalTransaction:
    """Move ``amount`` from ``account``'s available to ``destination``'s available (default:
    external). ``InsufficientFunds`` when the account has less available."""
    wallet_amount_check(asset=asset, amount=amount)
    destination = destination or wallet_system_account(kind=Account.Kind.EXTERNAL)
    return _post_one(kind, reference, [
        Leg(account.pk, asset.pk, Bucket.AVAILABLE, -amount),
        Leg(destination.pk, asset.pk, Bucket.AVAILABLE, amount),
    ], memo)


def wallet_hold(*, account: Account, asset: Asset, amount: Decimal, reference: str,
                kind: str = JournalTransaction.Kind.HOLD) -> JournalTransaction:
    """available -> locked of one account. ``InsufficientFunds`` when available is short."""
    wallet_amount_check(asset=asset, amount=amount)
    return _post_one(kind, reference, [
        Leg(account.pk, asset.pk, Bucket.AVAILABLE, -amount),
        Leg(account.pk, asset.pk, Bucket.LOCKED, amount),
    ])


def wallet_release(*, account: Account, asset: Asset, amount: Decimal, reference: str,
                   kind: str = JournalTransaction.Kind.RELEASE) -> JournalTransaction:
    """locked -> available of one account. ``InsufficientFunds`` when locked is short."""
    wallet_amount_check(asset=asset, amount=amount)
    return _post_one(kind, reference, [
        Leg(account.pk, asset.pk, Bucket.LOCKED, -amount),
        Leg(account.pk, asset.pk, Bucket.AVAILABLE, amount),
    ])


def wallet_transfer_locked(*, from_account: Account, to_account: Account, asset: Asset,
                           amount: Decimal, reference: str,
                           kind: str = JournalTransaction.Kind.TRADE) -> JournalTransaction:
    """``from_account``'s locked -> ``to_account``'s available (settling a trade)."""
    wallet_amount_check(asset=asset, amount=amount)
    return _post_one(kind, reference, [
        Leg(from_account.pk, asset.pk, Bucket.LOCKED, -amount),
        Leg(to_account.pk, asset.pk, Bucket.AVAILABLE, amount),
    ])


@transaction.atomic
def wallet_adjust(*, account: Account, asset: Asset, direction: Literal["credit", "debit"],
                  amount: Decimal, reason: str, admin: User,
                  request: HttpRequest | None = None) -> JournalTransaction:
    """An admin's correction against the external account (an ``adjustment`` journal), audited
    as ``wallet.adjustment``. A debit cannot take more than the account has available."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput("A reason is required.", fields={"reason": ["A reason is required."]})
    reference = f"adjustment:{admin.pk}"
    kind = JournalTransaction.Kind.ADJUSTMENT
    if direction == "credit":
        journal = wallet_credit(account=account, asset=asset, amount=amount, kind=kind,
                                reference=reference, memo=reason[:200])
    elif direction == "debit":
        journal = wallet_debit(account=account, asset=asset, amount=amount, kind=kind,
                               reference=reference, memo=reason[:200])
    else:
        raise InvalidInput(fields={"direction": ["Must be credit or debit."]})
    audit_record(event="wallet.adjustment", user=account.user, actor=admin, request=request,
                 account_id=account.pk, asset=asset.symbol, direction=direction,
                 amount=format_decimal(amount), reason=reason, journal_id=journal.pk)
    return journal


# --- deposits ----------------------------------------------------------------------------------

def _utc_day_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


@transaction.atomic
def deposit_create(*, user: User, asset_symbol: str, amount: Decimal) -> Deposit:
    """A simulated on-chain deposit, credited at once from the external account (demo mode).

    Capped per user per asset per UTC day (``WALLET_DEPOSIT_DAILY_CAPS``): over the cap is
    ``deposit_limit_exceeded`` and nothing is credited. Locks the user's Account row so two
    concurrent deposits cannot both slip under the cap."""
    asset = asset_active_get(symbol=asset_symbol)
    if not conf.demo_deposits_enabled():
        raise DepositsDisabled("Deposits are disabled on this exchange.")
    if not asset.deposit_enabled:
        raise DepositsDisabled()
    wallet_amount_check(asset=asset, amount=amount)
    account = wallet_account_get(user=user)
    # NO KEY UPDATE: concurrent inserts that reference the account (deferred FK checks take
    # KEY SHARE at commit) must not wait on this lock, or they could deadlock with us.
    Account.objects.select_for_update(no_key=True).filter(pk=account.pk).first()
    cap = conf.deposit_daily_cap(asset.symbol)
    now = timezone.now()
    if cap is not None:
        used = Deposit.objects.filter(
            user=user, asset=asset, created_at__gte=_utc_day_start(now)
        ).aggregate(total=Coalesce(Sum("amount"), Decimal(0)))["total"]
        if used + amount > cap:
            left = format_decimal(max(cap - used, Decimal(0)), asset.decimals)
            message = (f"The daily deposit limit for {asset.symbol} is "
                       f"{format_decimal(cap, asset.decimals)}; {left} is left today.")
            raise DepositLimitExceeded(message, fields={"amount": [message]})
    deposit = Deposit.objects.create(user=user, asset=asset, amount=amount, created_at=now)
    wallet_credit(account=account, asset=asset, amount=amount, reference=f"deposit:{deposit.pk}")
    return deposit


# --- withdrawals -------------------------------------------------------------------------------

def _address_check(*, asset: Asset, address: str) -> str:
    address = (address or "").strip()
    pattern = asset.address_pattern or DEFAULT_ADDRESS_PATTERN
    if len(address) > 120 or not re.fullmatch(pattern, address):
        message = f"Not a valid {asset.symbol} address."
        raise InvalidAddress(message, fields={"address": [message]})
    return address


def withdrawal_request(*, user: User, asset_symbol: str, amount: Decimal, address: str,
                       otp: str | None = None, request: HttpRequest | None = None) -> Withdrawal:
    """Request a withdrawal: MFA first (``mfa_required``), then asset, amount (>= the asset's
    minimum), address format; ``amount + fee`` moves available -> locked (``insufficient_funds``
    when short). The answer is a ``pending`` withdrawal."""
    # Outside the transaction: a used code stays used even if the request fails later.
    mfa_check(user=user, otp=otp)
    with transaction.atomic():
        asset = asset_active_get(symbol=asset_symbol)
        if not asset.withdrawal_enabled:
            raise WithdrawalsDisabled()
        wallet_amount_check(asset=asset, amount=amount)
        if amount < asset.withdrawal_min:
            message = (f"The minimum {asset.symbol} withdrawal is "
                       f"{format_decimal(asset.withdrawal_min, asset.decimals)}.")
            raise WithdrawalBelowMinimum(message, fields={"amount": [message]})
        address = _address_check(asset=asset, address=address)
        account = wallet_account_get(user=user)
        withdrawal = Withdrawal.objects.create(
            user=user, account=account, asset=asset, amount=amount,
            fee=asset.withdrawal_fee, address=address,
        )
        wallet_hold(account=account, asset=asset, amount=withdrawal.held,
                    reference=f"withdrawal:{withdrawal.pk}")
        audit_record(event="withdrawal.requested", user=user, request=request,
                     withdrawal_id=withdrawal.pk, asset=asset.symbol,
                     amount=format_decimal(amount), fee=format_decimal(withdrawal.fee))
    return withdrawal


def _withdrawal_lock(*, withdrawal_id: int, user: User | None = None) -> Withdrawal:
    """SELECT ... FOR UPDATE the withdrawal (of ``user`` when given: another's is 404) and check
    it is still pending. Taken before any Balance lock."""
    queryset = Withdrawal.objects.select_for_update(no_key=True)
    if user is not None:
        queryset = queryset.filter(user=user)
    withdrawal = queryset.filter(pk=withdrawal_id).first()
    if withdrawal is None:
        raise NotFound("No such withdrawal.")
    if withdrawal.status != Withdrawal.Status.PENDING:
        raise WithdrawalNotPending(f"This withdrawal is {withdrawal.status}.")
    return withdrawal


def _withdrawal_release(withdrawal: Withdrawal, status: str, *, reason: str = "",
                        admin: User | None = None) -> None:
    wallet_release(account=withdrawal.account, asset=withdrawal.asset, amount=withdrawal.held,
                   reference=f"withdrawal:{withdrawal.pk}")
    withdrawal.status = status
    withdrawal.reason = reason[:200]
    withdrawal.decided_by = admin
    withdrawal.updated_at = timezone.now()
    withdrawal.save(update_fields=["status", "reason", "decided_by", "updated_at"])


@transaction.atomic
def withdrawal_cancel(*, user: User, withdrawal_id: int,
                      request: HttpRequest | None = None) -> Withdrawal:
    """The user cancels a pending withdrawal: ``amount + fee`` is released exactly.
    404 for another user's id; ``withdrawal_not_pending`` (409) once decided."""
    withdrawal = _withdrawal_lock(withdrawal_id=withdrawal_id, user=user)
    _withdrawal_release(withdrawal, Withdrawal.Status.CANCELLED)
    audit_record(event="withdrawal.cancelled", user=user, request=request,
                 withdrawal_id=withdrawal.pk)
    return withdrawal


@transaction.atomic
def withdrawal_reject(*, withdrawal_id: int, admin: User, reason: str = "",
                      request: HttpRequest | None = None) -> Withdrawal:
    """An admin rejects a pending withdrawal: ``amount + fee`` is released exactly."""
    withdrawal = _withdrawal_lock(withdrawal_id=withdrawal_id)
    _withdrawal_release(withdrawal, Withdrawal.Status.REJECTED, reason=reason, admin=admin)
    audit_record(event="withdrawal.rejected", user=withdrawal.user, actor=admin,
                 request=request, withdrawal_id=withdrawal.pk, reason=reason)
    transaction.on_commit(lambda: withdrawal_notify(withdrawal=withdrawal), robust=True)
    return withdrawal


@transaction.atomic
def withdrawal_complete(*, withdrawal_id: int, admin: User,
                        request: HttpRequest | None = None) -> Withdrawal:
    """An admin marks a pending withdrawal sent: the locked amount goes to the external account
    and the fee to the fee account (one ``withdrawal`` journal)."""
    withdrawal = _withdrawal_lock(withdrawal_id=withdrawal_id)
    external = wallet_system_account(kind=Account.Kind.EXTERNAL)
    legs = [
        Leg(withdrawal.account_id, withdrawal.asset_id, Bucket.LOCKED, -withdrawal.held),
        Leg(external.pk, withdrawal.asset_id, Bucket.AVAILABLE, withdrawal.amount),
    ]
    if withdrawal.fee > 0:
        fee_account = wallet_system_account(kind=Account.Kind.FEE)
        legs.append(Leg(fee_account.pk, withdrawal.asset_id, Bucket.AVAILABLE, withdrawal.fee))
    ledger_post(postings=[Posting(kind=JournalTransaction.Kind.WITHDRAWAL,
                                  reference=f"withdrawal:{withdrawal.pk}", legs=legs)])
    withdrawal.status = Withdrawal.Status.COMPLETED
    withdrawal.decided_by = admin
    withdrawal.updated_at = timezone.now()
    withdrawal.save(update_fields=["status", "decided_by", "updated_at"])
    audit_record(event="withdrawal.completed", user=withdrawal.user, actor=admin,
                 request=request, withdrawal_id=withdrawal.pk)
    transaction.on_commit(lambda: withdrawal_notify(withdrawal=withdrawal), robust=True)
    return withdrawal


# --- verification ------------------------------------------------------------------------------

@dataclass(frozen=True)
class LedgerProblem:
    check: str  # entries_sum, journal_sum, balance_mismatch, negative, flag, holds, stuck_hold
    asset: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.check}] {self.asset}: {self.detail}"


EntrySums = tuple[dict[int, Decimal], dict[tuple[int, int], Decimal],
                  dict[tuple[int, int, str], Decimal]]


def _entry_sums() -> EntrySums:
    """Entry sums per asset, per (journal, asset) and per (account, asset, bucket), summed
    exactly (NUMERIC) by PostgreSQL."""
    by_asset: dict[int, Decimal] = defaultdict(Decimal)
    by_journal: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    by_bucket: dict[tuple[int, int, str], Decimal] = defaultdict(Decimal)
    for row in LedgerEntry.objects.values("asset_id").annotate(total=Sum("amount")):
        by_asset[row["asset_id"]] = row["total"]
    for row in (LedgerEntry.objects.values("journal_id", "asset_id")
                .annotate(total=Sum("amount")).exclude(total=0)):
        by_journal[(row["journal_id"], row["asset_id"])] = row["total"]
    for row in (LedgerEntry.objects.values("account_id", "asset_id", "bucket")
                .annotate(total=Sum("amount"))):
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
            problems.append(LedgerProblem("entries_sum", symbols[asset_id],
                                          f"entries sum to {total}, not 0"))
    for (journal_id, asset_id), total in by_journal.items():
        if total != 0:
            problems.append(LedgerProblem("journal_sum", symbols[asset_id],
                                          f"journal {journal_id} sums to {total}"))
    holds = open_holds()
    seen: set[tuple[int, int]] = set()
    for balance in Balance.objects.select_related("account").order_by("pk"):
        key = (balance.account_id, balance.asset_id)
        seen.add(key)
        symbol = symbols[balance.asset_id]
        where = f"account {balance.account_id} ({balance.account.kind})"
        for bucket_name, value in ((Bucket.AVAILABLE.value, balance.available),
                                   (Bucket.LOCKED.value, balance.locked)):
            expected = sums.get((*key, bucket_name), Decimal(0))
            if value != expected:
                problems.append(LedgerProblem(
                    "balance_mismatch", symbol,
                    f"{where} {bucket_name} is {value} but its entries sum to {expected}"))
        external = balance.account.kind == Account.Kind.EXTERNAL
        if balance.may_go_negative != external:
            problems.append(LedgerProblem("flag", symbol,
                                          f"{where} may_go_negative={balance.may_go_negative}"))
        if not external and (balance.available < 0 or balance.locked < 0):
            problems.append(LedgerProblem(
                "negative", symbol,
                f"{where} available {balance.available}, locked {balance.locked}"))
        if not external and balance.locked != holds.get(key, Decimal(0)):
            problems.append(LedgerProblem(
                "holds", symbol,
                f"{where} locked {balance.locked} but open holds are "
                f"{holds.get(key, Decimal(0))}"))
    for (account_id, asset_id, bucket), total in sums.items():
        if (account_id, asset_id) not in seen:
            problems.append(LedgerProblem(
                "balance_mismatch", symbols[asset_id],
                f"account {account_id} has {bucket} entries summing to {total} but no balance"))
    for (account_id, asset_id), amount in holds.items():
        if (account_id, asset_id) not in seen and amount != 0:
            problems.append(LedgerProblem(
                "holds", symbols.get(asset_id, str(asset_id)),
                f"account {account_id} has open holds of {amount} but no balance"))
    for asset_id, detail in stuck_holds():
        problems.append(LedgerProblem("stuck_hold", symbols.get(asset_id, str(asset_id)),
                                      f"{detail} (it can never be released by settlement)"))
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
    for row in (Balance.objects.values("asset_id", "account__kind")
                .annotate(available=Sum("available"), locked=Sum("locked"))):
        totals[(row["asset_id"], row["account__kind"], "available")] = row["available"]
        totals[(row["asset_id"], row["account__kind"], "locked")] = row["locked"]
    entries = {row["asset_id"]: row for row in LedgerEntry.objects.values("asset_id")
               .annotate(count=Count("id"), total=Sum("amount"))}
    zero = Decimal(0)

    def held(asset_id: int, kind: str) -> Decimal:
        return (totals.get((asset_id, kind, "available"), zero)
                + totals.get((asset_id, kind, "locked"), zero))

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
