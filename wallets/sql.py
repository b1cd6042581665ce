"""Every raw SQL statement of wallets, in one place.

The ORM first; these are the measured hot paths of the ledger (settlement posts thousands of
journals a second, every order holds funds). Table names come from the models
(``Model._meta.db_table``), so a renamed table cannot leave a statement behind. The statements
are constants, built once at import; nothing here runs them (``wallets.ledger`` and
``wallets.services`` do, with the cursor each statement is written for)."""

from __future__ import annotations

from wallets.models import Account, Asset, Balance, JournalTransaction, LedgerEntry

_ACCOUNT = Account._meta.db_table
_ASSET = Asset._meta.db_table
_BALANCE = Balance._meta.db_table
_JOURNAL = JournalTransaction._meta.db_table
_ENTRY = LedgerEntry._meta.db_table

# The id of a user's account (``wallet_account_id_get``); params: [user_id].
ACCOUNT_ID_SQL = f"SELECT id FROM {_ACCOUNT} WHERE user_id = %s"

# The rows ``ledger_post`` changes, locked in primary-key order (the LockRows step takes them as
# the sort yields them), with their assets' decimals; OF b: the asset rows are not locked.
# Params: [account_ids, asset_ids] (two arrays, one key per position). Columns: BALANCE_FIELDS,
# then the asset's decimals.
BALANCES_LOCK_SQL = (
    "SELECT b.id, b.account_id, b.asset_id, b.available, b.locked, b.may_go_negative, a.decimals"
    f" FROM {_BALANCE} b"
    " JOIN unnest(%b::bigint[], %b::bigint[]) AS k(account_id, asset_id)"
    " ON b.account_id = k.account_id AND b.asset_id = k.asset_id"
    f" JOIN {_ASSET} a ON a.id = b.asset_id"
    " ORDER BY b.id FOR NO KEY UPDATE OF b"
)
BALANCE_FIELDS = tuple(field.attname for field in Balance._meta.concrete_fields)
assert BALANCE_FIELDS == (
    "id",
    "account_id",
    "asset_id",
    "available",
    "locked",
    "may_go_negative",
), BALANCE_FIELDS  # BALANCES_LOCK_SQL's columns

# New available/locked of many balances; params: (ids, availables, lockeds) as arrays.
BALANCES_SAVE_SQL = (
    f"UPDATE {_BALANCE} AS b SET available = v.available, locked = v.locked"
    " FROM unnest(%b::bigint[], %b::numeric[], %b::numeric[])"
    " AS v(id, available, locked) WHERE b.id = v.id"
)

# Journals from column arrays; params: (created_at, kinds, references, memos). ``ORDER BY n``
# makes the sequence hand out ids in the arrays' order, which RETURNING reports in that order.
JOURNALS_INSERT_SQL = (
    f"INSERT INTO {_JOURNAL} (kind, reference, memo, created_at)"
    " SELECT kind, reference, memo, %s FROM unnest(%b::varchar[], %b::varchar[],"
    " %b::varchar[]) WITH ORDINALITY AS t(kind, reference, memo, n) ORDER BY n"
    " RETURNING id"
)

# Ledger entries from column arrays; params: (journal_ids, account_ids, asset_ids, buckets,
# amounts, balance_afters).
ENTRIES_INSERT_SQL = (
    f"INSERT INTO {_ENTRY}"
    " (journal_id, account_id, asset_id, bucket, amount, balance_after)"
    " SELECT * FROM unnest(%b::bigint[], %b::bigint[], %b::bigint[], %b::varchar[],"
    " %b::numeric[], %b::numeric[])"
)


def bucket_move_sql(*, account: str, reference: str, condition: str = "TRUE") -> tuple[str, str]:
    """A ``wallets.ledger.BucketMove`` as two parts of a WITH list, for one statement that
    writes it (one row lock, so no lock order to keep):

    - ``moved``: the UPDATE of the balance of (``account``, asset), applied only if ``condition``
      holds, the source bucket covers the amount (unless the account may go negative: the WHERE
      is re-checked on the latest row version after a lock wait, so two moves never both spend
      the same funds) and the amount fits the asset's decimals; it returns the row's account,
      available and locked;
    - ``move_journal``, ``move_entries``: the journal and its two entries (balance_after is each
      bucket's new value, one leg per bucket), written only if ``moved`` returned a row.

    ``account`` and ``reference`` are SQL expressions (``%(account)s``, a subquery, ``'order:' ||
    ...``) and ``condition`` a boolean one, over CTEs the caller defines before ``moved``; the
    named parameters are ``wallets.ledger.bucket_move_params``'. Used by ``ledger_post`` (one
    such posting) and by order placement, which writes the order in the same statement."""
    moved = f"""moved AS (
    UPDATE {_BALANCE}
    SET available = available + %(move_available)s, locked = locked + %(move_locked)s
    WHERE account_id = {account} AND asset_id = %(move_asset)s AND ({condition})
      AND (may_go_negative OR (available + %(move_available)s >= 0
                               AND locked + %(move_locked)s >= 0))
      AND EXISTS (SELECT 1 FROM {_ASSET} a
                  WHERE a.id = %(move_asset)s AND a.decimals >= %(move_places)s)
    RETURNING account_id, available, locked
)"""
    journal = f"""move_journal AS (
    INSERT INTO {_JOURNAL} (kind, reference, memo, created_at)
    SELECT %(move_kind)s, {reference}, %(move_memo)s, %(move_now)s FROM moved
    RETURNING id
), move_entries AS (
    INSERT INTO {_ENTRY}
        (journal_id, account_id, asset_id, bucket, amount, balance_after)
    SELECT move_journal.id, moved.account_id, %(move_asset)s, leg.bucket, leg.amount,
           CASE leg.bucket WHEN 'available' THEN moved.available ELSE moved.locked END
    FROM move_journal, moved,
         (VALUES (1, %(move_from)s, -%(move_amount)s::numeric),
                 (2, %(move_to)s, %(move_amount)s::numeric)) AS leg(n, bucket, amount)
    ORDER BY leg.n
)"""
    return moved, journal


def _one_balance_post_sql() -> str:
    moved, journal = bucket_move_sql(account="%(account)s", reference="%(reference)s")
    return f"WITH {moved}, {journal} SELECT id FROM move_journal"


# ``ledger_post`` of one posting between the two buckets of one balance; params:
# ``bucket_move_params`` plus ``account`` and ``reference``. Returns the journal id, or no row.
ONE_BALANCE_POST_SQL = _one_balance_post_sql()
