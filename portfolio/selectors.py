"""A user's portfolio as a trader reads it: what it is worth (in KRW, and USDT), each asset's
value and share, the profit or loss since a date, and the ledger told as deposits, trades, fees
and withdrawals.

Prices are the markets' (``markets.rates``); holdings and flows the ledger's
(``wallets.selectors``); the trades' prices and fees the fills' (``orders``). A user's
copy-trading sub-accounts count as the user's own money. Nothing here writes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Q

from accounts.models import User
from markets.models import TradingPair
from markets.rates import rates_in
from orders.models import Fill
from wallets.models import Account, Asset, JournalTransaction, LedgerEntry, Withdrawal
from wallets.selectors import external_flows_for_user, holdings_for_user
from wallets.statements import journal_reference_words

ZERO = Decimal(0)
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Holding:
    asset: Asset
    amount: Decimal
    price: Decimal | None  # one unit in the reference asset; None: no market prices it
    value: Decimal | None
    share_pct: Decimal | None  # of the priced total


@dataclass(frozen=True)
class Portfolio:
    reference: Asset
    holdings: list[Holding]  # by value, largest first; unpriced ones last
    total: Decimal  # of the priced holdings, in the reference asset
    also: list[tuple[Asset, Decimal | None]]  # the total in other assets (USDT)


def _assets(ids: Iterable[int]) -> dict[int, Asset]:
    return {asset.pk: asset for asset in Asset.objects.filter(pk__in=set(ids))}


def portfolio_get(*, user: User, reference: Asset, also: Iterable[Asset] = ()) -> Portfolio:
    """What ``user`` holds now, valued at the markets' last prices in ``reference``."""
    held = holdings_for_user(user=user)
    rates = rates_in(reference_id=reference.pk)
    assets = _assets(held)
    priced = {
        asset_id: amount * rates[asset_id] for asset_id, amount in held.items() if asset_id in rates
    }
    total = sum(priced.values(), ZERO)
    holdings = [
        Holding(
            asset=assets[asset_id],
            amount=amount,
            price=rates.get(asset_id),
            value=priced.get(asset_id),
            share_pct=(priced[asset_id] * HUNDRED / total)
            if asset_id in priced and total
            else None,
        )
        for asset_id, amount in held.items()
    ]
    holdings.sort(key=lambda h: (h.value is None, -(h.value or ZERO), h.asset.symbol))
    others = [(asset, total / rates[asset.pk] if asset.pk in rates else None) for asset in also]
    return Portfolio(reference=reference, holdings=holdings, total=total, also=others)


@dataclass(frozen=True)
class ProfitAndLoss:
    """``value_now - value_then - net_flows``: what the holdings earned since ``since``, with
    deposits and withdrawals (valued when they happened) taken out."""

    since: datetime
    value_then: Decimal
    net_flows: Decimal
    value_now: Decimal
    pnl: Decimal
    pnl_pct: Decimal | None  # of value_then plus what came in since; None when that is zero
    unpriced: list[str] = field(default_factory=list)  # assets left out: no price then or now


def portfolio_pnl(*, user: User, reference: Asset, since: datetime) -> ProfitAndLoss:
    then_rates = rates_in(reference_id=reference.pk, at=since)
    now_rates = rates_in(reference_id=reference.pk)
    held_then = holdings_for_user(user=user, at=since)
    held_now = holdings_for_user(user=user)
    unpriced: set[int] = set()

    def value(held: dict[int, Decimal], rates: dict[int, Decimal]) -> Decimal:
        total = ZERO
        for asset_id, amount in held.items():
            rate = rates.get(asset_id, now_rates.get(asset_id))
            if rate is None:
                unpriced.add(asset_id)
            else:
                total += amount * rate
        return total

    value_then = value(held_then, then_rates)
    value_now = value(held_now, now_rates)
    net_flows = came_in = ZERO
    rates_at: dict[datetime, dict[int, Decimal]] = {}
    for flow in external_flows_for_user(user=user, since=since):
        if flow.asset_id == reference.pk:
            worth = flow.amount
        else:
            minute = flow.created_at.replace(second=59, microsecond=999999)
            rates = rates_at.get(minute)
            if rates is None:
                rates = rates_at[minute] = rates_in(reference_id=reference.pk, at=minute)
            rate = rates.get(flow.asset_id, now_rates.get(flow.asset_id))
            if rate is None:
                unpriced.add(flow.asset_id)
                continue
            worth = flow.amount * rate
        net_flows += worth
        came_in += max(worth, ZERO)
    pnl = value_now - value_then - net_flows
    base = value_then + came_in
    return ProfitAndLoss(
        since=since,
        value_then=value_then,
        net_flows=net_flows,
        value_now=value_now,
        pnl=pnl,
        pnl_pct=pnl * HUNDRED / base if base > 0 else None,
        unpriced=sorted(a.symbol for a in _assets(unpriced).values()),
    )


# --- the ledger in trader's words ----------------------------------------------------------


@dataclass(frozen=True)
class Movement:
    asset: Asset
    amount: Decimal  # signed: + came in, - went out


@dataclass(frozen=True)
class Activity:
    """One line of the user's money story."""

    at: datetime
    kind: str  # deposit, withdrawal, trade, fee, adjustment, copy, other
    title: str
    movements: list[Movement]
    pair: TradingPair | None = None  # the market of a trade or its fee
    price: Decimal | None = None  # a trade's price


# Journals that only move money between a balance's available and locked buckets (an order's
# or a withdrawal's hold, and its release): they change nothing the user owns, so the story
# leaves them out, and shows what the order or withdrawal did instead.
_FOLDED_KINDS = (JournalTransaction.Kind.HOLD, JournalTransaction.Kind.RELEASE)
_KIND_OF: dict[str, str] = {
    JournalTransaction.Kind.DEPOSIT: "deposit",
    JournalTransaction.Kind.WITHDRAWAL: "withdrawal",
    JournalTransaction.Kind.ADJUSTMENT: "adjustment",
    JournalTransaction.Kind.FEE: "fee",
}


def _family(user: User) -> Q:
    return Q(user=user) | Q(user__parent=user)


def activity_list(*, user: User, limit: int = 100) -> list[Activity]:
    """The user's latest ``limit`` money events, newest first: deposits, trades (each with its
    fee as a line of its own), withdrawals (amount and fee), adjustments, copy-trading moves.
    Holds and releases are folded away (``_FOLDED_KINDS``); moves between the user's own
    accounts that net to nothing are left out."""
    accounts = Account.objects.filter(_family(user))
    entries = list(
        LedgerEntry.objects.filter(account__in=accounts)
        .exclude(journal__kind__in=_FOLDED_KINDS)
        .select_related("journal", "asset")
        .order_by("-journal_id", "id")[: limit * 4]
    )
    journals: dict[int, JournalTransaction] = {}
    sums: dict[int, dict[int, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    assets: dict[int, Asset] = {}
    for entry in entries:
        journals.setdefault(entry.journal_id, entry.journal)
        sums[entry.journal_id][entry.asset_id] += entry.amount
        assets[entry.asset_id] = entry.asset
    fills = _fills_of(user, [j.reference for j in journals.values()])
    withdrawals = _withdrawals_of(user, [j.reference for j in journals.values()])
    story: list[Activity] = []
    for journal_id, journal in journals.items():
        moved = [Movement(assets[a], amount) for a, amount in sums[journal_id].items() if amount]
        if not moved:
            continue  # between the user's own accounts
        story += _told(journal, moved, fills, withdrawals)
        if len(story) >= limit:
            break
    return story[:limit]


def _fills_of(user: User, references: list[str]) -> dict[tuple[str, int], list[Fill]]:
    """(symbol, engine seq) -> the user's fills of the trades in ``references``."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for reference in references:
        noun, _, rest = reference.partition(":")
        symbol, _, seq = rest.rpartition(":")
        if noun == "trade" and seq.isdigit():
            wanted[symbol].add(int(seq))
    if not wanted:
        return {}
    found: dict[tuple[str, int], list[Fill]] = defaultdict(list)
    query = Q()
    for symbol, seqs in wanted.items():
        query |= Q(pair__symbol=symbol, engine_seq__in=seqs)
    for fill in (
        Fill.objects.filter(_family(user))
        .filter(query)
        .select_related("pair", "pair__base", "pair__quote", "fee_asset")
    ):
        found[(fill.pair.symbol, fill.engine_seq)].append(fill)
    return found


def _withdrawals_of(user: User, references: list[str]) -> dict[str, Withdrawal]:
    ids = [
        int(rest)
        for noun, _, rest in (r.partition(":") for r in references)
        if noun == "withdrawal" and rest.isdigit()
    ]
    return {
        f"withdrawal:{w.pk}": w
        for w in Withdrawal.objects.filter(user=user, pk__in=ids).select_related("asset")
    }


def _told(
    journal: JournalTransaction,
    moved: list[Movement],
    fills: dict[tuple[str, int], list[Fill]],
    withdrawals: dict[str, Withdrawal],
) -> list[Activity]:
    """One journal as the lines a trader reads (newest first within it: the fee after the
    trade reads better above it)."""
    at, reference = journal.created_at, journal.reference
    if journal.kind == JournalTransaction.Kind.TRADE:
        symbol, _, seq = reference.partition(":")[2].rpartition(":")
        lines = []
        for fill in fills.get((symbol, int(seq)) if seq.isdigit() else ("", 0), []):
            pair = fill.pair
            bought = fill.side == "buy"
            sign = Decimal(1) if bought else Decimal(-1)
            lines.append(
                Activity(
                    at=at,
                    kind="trade",
                    title=f"{'Bought' if bought else 'Sold'} {pair.base.symbol}",
                    movements=[
                        Movement(pair.base, sign * fill.quantity),
                        Movement(pair.quote, -sign * fill.quote_quantity),
                    ],
                    pair=pair,
                    price=fill.price,
                )
            )
            if fill.fee:
                lines.insert(
                    0,
                    Activity(
                        at=at,
                        kind="fee",
                        title=f"Trading fee ({fill.liquidity})",
                        movements=[Movement(fill.fee_asset, -fill.fee)],
                        pair=pair,
                    ),
                )
        if lines:
            return lines
        return [Activity(at=at, kind="trade", title=f"Trade on {symbol}", movements=moved)]
    if journal.kind == JournalTransaction.Kind.WITHDRAWAL and reference in withdrawals:
        withdrawal = withdrawals[reference]
        lines = [
            Activity(
                at=at,
                kind="withdrawal",
                title=f"Withdrawal #{withdrawal.pk} sent",
                movements=[Movement(withdrawal.asset, -withdrawal.amount)],
            )
        ]
        if withdrawal.fee:
            lines.insert(
                0,
                Activity(
                    at=at,
                    kind="fee",
                    title="Withdrawal fee",
                    movements=[Movement(withdrawal.asset, -withdrawal.fee)],
                ),
            )
        return lines
    if journal.kind == JournalTransaction.Kind.TRANSFER and reference.startswith("copy:"):
        out = all(m.amount < 0 for m in moved)
        title = "Moved to copy trading" if out else "Back from copy trading"
        return [Activity(at=at, kind="copy", title=title, movements=moved)]
    kind = _KIND_OF.get(journal.kind, "other")
    title = {
        "deposit": "Deposit",
        "adjustment": f"Adjustment by the exchange{': ' + journal.memo if journal.memo else ''}",
    }.get(kind, journal_reference_words(reference))
    return [Activity(at=at, kind=kind, title=title, movements=moved)]
