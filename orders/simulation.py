"""The living demo: bot accounts that make book-priced markets and trade now and then.

``python manage.py simulate_market`` runs ``simulation_run``. Each step, for every book-priced
market with a ``MarketPlan`` (feed-priced markets move with their feed, never with bots):

- makers (``bot_maker_1``, ``bot_maker_2``, ...) quote ``levels`` prices on each side of the
  reference price (the last trade, else the plan's start price). Quotes sit on a grid of round
  steps (about ``level_step_bps`` of the price), each grid price always owned by the same maker,
  so a move of the price by one step replaces one quote per side instead of all of them. Quotes
  no longer wanted are cancelled and missing ones placed, at most ``max_orders_per_step``
  actions per market per step;
- a taker (``bot_taker_1``) sends a small IOC limit order at the best opposite price every
  ``trade_every_s`` seconds or so, so trades happen, the chart moves and the price walks (the side
  leans against the drift from the start price, so the walk stays in a plausible range);
- with each taker trade, one of three styled traders (``STYLED_TRADERS``) trades too: a trend
  follower (buys after a rise), a contrarian (buys after a fall) and a holder (mostly buys),
  so the leaderboard (docs/rankings.md) has traders with different results.

Every bot is opted in to the public rankings, where it is labelled as a bot.

Bots are ordinary users with ``is_bot=True``: their orders go through ``order_place`` and
``order_cancel`` like anyone's, rest in the same book and meet users' orders. Their money comes
from deposits (``wallet_credit`` from the external account) topped up when low, so the ledger's
invariants hold. Every random choice comes from one ``random.Random(seed)``.

A failing market (engine or database hiccup, a domain error) is logged and skipped; the next step
tries again."""

from __future__ import annotations

import logging
import math
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from django.db import close_old_connections

from accounts.models import User
from accounts.services import user_create, user_rankings_opt_in_set
from engine.runtime import get_engine
from engine.units import price_to_ticks
from markets.models import TradingPair
from orders.cancel import order_cancel
from orders.models import OPEN_STATUSES, Order, OrderType, Side, TimeInForce
from orders.selectors import last_trade_price
from orders.services import order_place
from tradehive.errors import DomainError
from wallets.errors import InsufficientFunds
from wallets.models import Asset
from wallets.selectors import balance_get
from wallets.services import wallet_account_get, wallet_credit

logger = logging.getLogger(__name__)

BOT_EMAIL_DOMAIN = "bots.tradehive.invalid"


@dataclass(frozen=True, slots=True)
class MarketPlan:
    """How the bots trade one market. Prices and notionals are in the quote asset."""

    symbol: str
    start_price: Decimal  # used until the market has a trade; on the market's tick grid
    level_notional: Decimal  # a level-0 quote is worth about this much (deeper levels more)
    trade_notional: Decimal  # a taker trade is worth about this much
    # Bot balances are topped up to these amounts (per asset) when below half of them.
    funds: dict[str, Decimal] = field(default_factory=dict)
    levels: int = 3
    # The quote grid's step, rounded down to 1, 2 or 5 x 10^k ticks (at least 1 tick). The best
    # quotes are the grid prices just below and above the reference.
    level_step_bps: int = 10


DEFAULT_PLANS: tuple[MarketPlan, ...] = (
    MarketPlan(
        symbol="LPJ-KRW",
        start_price=Decimal(1000),
        level_notional=Decimal(20_000),
        trade_notional=Decimal(8_000),
        funds={"KRW": Decimal(20_000_000), "LPJ": Decimal(20_000)},
    ),
    MarketPlan(
        symbol="BTC-USDT",
        start_price=Decimal(65_000),
        level_notional=Decimal(300),
        trade_notional=Decimal(120),
        funds={"USDT": Decimal(1_000_000), "BTC": Decimal(15)},
    ),
)


@dataclass(slots=True)
class StepReport:
    """What one step did, summed over markets."""

    placed: int = 0
    cancelled: int = 0
    taker_orders: int = 0
    topups: int = 0
    errors: int = 0

    def add(self, other: StepReport) -> None:
        self.placed += other.placed
        self.cancelled += other.cancelled
        self.taker_orders += other.taker_orders
        self.topups += other.topups
        self.errors += other.errors


# Styled demo traders and their rule (``MarketSimulator._styled_trade``).
STYLED_TRADERS = {
    "bot_trend_1": "trend",
    "bot_contrarian_1": "contrarian",
    "bot_holder_1": "holder",
}


@dataclass(frozen=True, slots=True)
class Bots:
    makers: tuple[User, ...]
    taker: User
    styled: tuple[tuple[User, str], ...] = ()

    @property
    def everyone(self) -> tuple[User, ...]:
        return (*self.makers, self.taker, *(user for user, _ in self.styled))


def bot_ensure(*, username: str) -> User:
    """The bot user ``username``, created (``is_bot=True``, an unguessable password nobody
    knows) if missing. Refuses to adopt a human's account of that name."""
    user = User.objects.filter(username=username).first()
    if user is None:
        user = user_create(
            username=username,
            email=f"{username}@{BOT_EMAIL_DOMAIN}",
            password=secrets.token_urlsafe(32),
            is_bot=True,
        )
    if not user.is_bot:
        raise RuntimeError(f"user {username!r} exists and is not a bot; not trading with it")
    return user_rankings_opt_in_set(user=user, opt_in=True)


def bots_ensure(*, makers: int = 2) -> Bots:
    return Bots(
        makers=tuple(bot_ensure(username=f"bot_maker_{n}") for n in range(1, makers + 1)),
        taker=bot_ensure(username="bot_taker_1"),
        styled=tuple((bot_ensure(username=name), style) for name, style in STYLED_TRADERS.items()),
    )


def bot_topup(*, user: User, funds: dict[str, Decimal]) -> int:
    """Deposit into ``user`` whatever brings each asset's available balance back to its target
    when it fell below half of it. Returns the number of deposits made."""
    account = wallet_account_get(user=user)
    deposits = 0
    for symbol, target in sorted(funds.items()):
        asset = Asset.objects.get(symbol=symbol)
        available = balance_get(account=account, asset=asset).available
        if available >= target / 2:
            continue
        wallet_credit(
            account=account,
            asset=asset,
            amount=target - available,
            reference=f"demo-bot-topup:{user.pk}",
            memo="demo bot top-up",
        )
        deposits += 1
    return deposits


def _lots(*, pair: TradingPair, notional: Decimal, price: Decimal) -> Decimal:
    """A quantity on the lot grid worth about ``notional`` at ``price``, never below the
    market's minimum notional."""
    lot = pair.lot_size
    wanted = (notional / price / lot).to_integral_value(rounding=ROUND_FLOOR)
    least = (pair.min_notional / price / lot).to_integral_value(rounding=ROUND_CEILING)
    return max(wanted, least, Decimal(1)) * lot


def grid_step(reference_ticks: int, bps: int) -> int:
    """``bps`` of the reference in ticks, rounded down to 1, 2 or 5 x 10^k (at least 1): a
    round step that stays the same while the price wanders, so quotes stay put."""
    raw = reference_ticks * bps // 10_000
    if raw < 1:
        return 1
    magnitude = 10 ** (len(str(raw)) - 1)
    return next(m * magnitude for m in (5, 2, 1) if m * magnitude <= raw)


class MarketSimulator:
    """The bots' state across steps: the random source, when each market trades next, and the
    quotes already asked to cancel (settlement closes them in the database a moment later)."""

    def __init__(
        self,
        *,
        plans: tuple[MarketPlan, ...] = DEFAULT_PLANS,
        seed: int | None = None,
        makers: int = 2,
        trade_every_s: float = 3.0,
        max_orders_per_step: int = 8,
        topup_every: int = 30,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.plans = {plan.symbol: plan for plan in plans}
        self.random = random.Random(seed)  # noqa: S311 - demo behaviour, not security
        self.makers = makers
        self.trade_every_s = trade_every_s
        self.max_orders_per_step = max_orders_per_step
        self.topup_every = topup_every
        self.clock = clock
        self.bots: Bots | None = None
        self.steps = 0
        self._next_trade_at: dict[str, float] = {}
        self._previous_price: dict[str, Decimal] = {}
        self._cancelling: set[int] = set()
        self._topup_due = True

    # --- one step ---------------------------------------------------------------------------

    def step(self) -> StepReport:
        """One pass over the planned markets. Never raises for one market's failure."""
        report = StepReport()
        if self.bots is None:
            self.bots = bots_ensure(makers=self.makers)
        pairs = list(
            TradingPair.objects.select_related("base", "quote")
            .filter(
                symbol__in=self.plans,
                price_source=TradingPair.BOOK,
                status=TradingPair.Status.ACTIVE,
            )
            .order_by("symbol")
        )
        if self._topup_due or self.steps % self.topup_every == 0:
            self._topup_due = False
            report.topups += self._topup(pairs)
        for pair in pairs:
            try:
                report.add(self.market_step(pair=pair))
            except Exception:  # one market's hiccup must not stop the demo
                logger.exception("demo step for %s failed; retrying next step", pair.symbol)
                report.errors += 1
        self.steps += 1
        return report

    def _topup(self, pairs: list[TradingPair]) -> int:
        assert self.bots is not None
        funds: dict[str, Decimal] = {}
        for pair in pairs:
            for symbol, amount in self.plans[pair.symbol].funds.items():
                funds[symbol] = max(amount, funds.get(symbol, Decimal(0)))
        return sum(bot_topup(user=bot, funds=funds) for bot in self.bots.everyone)

    def reference_price(self, *, pair: TradingPair) -> Decimal:
        return last_trade_price(pair=pair) or self.plans[pair.symbol].start_price

    def market_step(self, *, pair: TradingPair) -> StepReport:
        """Re-quote ``pair`` around its reference price, then maybe trade once."""
        report = self._requote(pair=pair)
        now = self.clock()
        if pair.symbol not in self._next_trade_at:  # the first trade once the quotes are in
            self._next_trade_at[pair.symbol] = now + self._trade_gap()
        elif now >= self._next_trade_at[pair.symbol]:
            self._next_trade_at[pair.symbol] = now + self._trade_gap()
            report.taker_orders += self._trade(pair=pair)
        return report

    def _trade_gap(self) -> float:
        return self.trade_every_s * self.random.uniform(0.5, 1.5)

    def desired_quotes(self, *, pair: TradingPair) -> dict[tuple[int, str, int], int]:
        """(maker id, side, price in ticks) -> level for every quote the makers should have."""
        assert self.bots is not None
        plan = self.plans[pair.symbol]
        makers = self.bots.makers
        reference = price_to_ticks(self.reference_price(pair=pair), pair.tick_size)
        step = grid_step(reference, plan.level_step_bps)
        best_bid = (reference - 1) // step * step  # grid prices strictly below/above
        best_ask = (reference // step + 1) * step
        quotes: dict[tuple[int, str, int], int] = {}
        for level in range(plan.levels):
            bid, ask = best_bid - level * step, best_ask + level * step
            if bid > 0:
                quotes[(makers[bid // step % len(makers)].pk, Side.BUY, bid)] = level
            quotes[(makers[ask // step % len(makers)].pk, Side.SELL, ask)] = level
        return quotes

    def _requote(self, *, pair: TradingPair) -> StepReport:
        assert self.bots is not None
        report = StepReport()
        makers = {maker.pk: maker for maker in self.bots.makers}
        desired = self.desired_quotes(pair=pair)
        open_orders = list(
            Order.objects.filter(pair=pair, user_id__in=makers, status__in=OPEN_STATUSES).order_by(
                "pk"
            )
        )
        self._cancelling &= {order.pk for order in open_orders}  # forget the ones now closed
        have: set[tuple[int, str, int]] = set()
        stale: list[Order] = []
        for order in open_orders:
            if order.pk in self._cancelling or order.price is None:
                continue
            key = (order.user_id, order.side, price_to_ticks(order.price, pair.tick_size))
            if key in desired and key not in have:
                have.add(key)
            else:
                stale.append(order)
        budget = self.max_orders_per_step
        # Cancels first: a stale quote may sit where a new one of the other side goes.
        for order in stale[:budget]:
            order_cancel(user=makers[order.user_id], order_id=order.pk, wait_s=0)
            self._cancelling.add(order.pk)
            report.cancelled += 1
        budget -= report.cancelled
        missing = sorted((level, key) for key, level in desired.items() if key not in have)
        plan = self.plans[pair.symbol]
        for level, (maker_id, side, price_ticks) in missing[: max(0, budget)]:
            price = price_ticks * pair.tick_size
            notional = (
                plan.level_notional
                * Decimal(1 + level)
                * Decimal(str(round(self.random.uniform(0.6, 1.4), 2)))
            )
            if self._place(
                user=makers[maker_id],
                pair=pair,
                side=side,
                price=price,
                quantity=_lots(pair=pair, notional=notional, price=price),
            ):
                report.placed += 1
            else:
                report.errors += 1
        return report

    def _trade(self, *, pair: TradingPair) -> int:
        """One small IOC order from the taker at the best opposite price (none if that side is
        empty). Buys get likelier the further the price fell from the start, and the reverse."""
        assert self.bots is not None
        plan = self.plans[pair.symbol]
        drift = math.log(self.reference_price(pair=pair) / plan.start_price)
        buy_odds = min(0.8, max(0.2, 0.5 - 2 * drift))
        side = Side.BUY if self.random.random() < buy_odds else Side.SELL
        best_bid, best_ask = get_engine().best_bid_ask(pair.symbol)
        best = best_ask if side == Side.BUY else best_bid
        if best is None:
            return 0
        price = best * pair.tick_size
        notional = plan.trade_notional * Decimal(str(round(self.random.uniform(0.5, 1.5), 2)))
        placed = self._place(
            user=self.bots.taker,
            pair=pair,
            side=side,
            price=price,
            quantity=_lots(pair=pair, notional=notional, price=price),
            time_in_force=TimeInForce.IOC,
        )
        return int(placed) + self._styled_trade(pair=pair)

    def _styled_trade(self, *, pair: TradingPair) -> int:
        """One styled trader (picked at random) trades at the best opposite price: the trend
        follower with the last move, the contrarian against it, the holder mostly buys."""
        assert self.bots is not None
        if not self.bots.styled:
            return 0
        user, style = self.random.choice(self.bots.styled)
        price_now = self.reference_price(pair=pair)
        rose = price_now >= self._previous_price.get(pair.symbol, price_now)
        self._previous_price[pair.symbol] = price_now
        if style == "holder":
            side = Side.BUY if self.random.random() < 0.8 else Side.SELL
        else:
            side = Side.BUY if rose == (style == "trend") else Side.SELL
        best_bid, best_ask = get_engine().best_bid_ask(pair.symbol)
        best = best_ask if side == Side.BUY else best_bid
        if best is None:
            return 0
        price = best * pair.tick_size
        notional = self.plans[pair.symbol].trade_notional * Decimal(
            str(round(self.random.uniform(0.3, 1.0), 2))
        )
        placed = self._place(
            user=user,
            pair=pair,
            side=side,
            price=price,
            quantity=_lots(pair=pair, notional=notional, price=price),
            time_in_force=TimeInForce.IOC,
        )
        return int(placed)

    def _place(
        self,
        *,
        user: User,
        pair: TradingPair,
        side: str,
        price: Decimal,
        quantity: Decimal,
        time_in_force: str = TimeInForce.GTC,
    ) -> bool:
        try:
            order_place(
                user=user,
                symbol=pair.symbol,
                side=side,
                type=OrderType.LIMIT,
                quantity=quantity,
                price=price,
                time_in_force=time_in_force,
            )
        except InsufficientFunds:
            logger.warning(
                "%s is short of funds on %s; topping up next step", user.username, pair.symbol
            )
            self._topup_due = True
            return False
        except DomainError as exc:
            logger.warning(
                "%s could not %s %s %s @ %s: %s",
                user.username,
                side,
                quantity,
                pair.symbol,
                price,
                exc.message,
            )
            return False
        return True


def simulation_run(
    *,
    simulator: MarketSimulator,
    interval_s: float = 1.0,
    seconds: float | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> StepReport:
    """Step every ``interval_s`` until ``should_stop()`` or ``seconds`` elapsed. A failed step
    (database or Redis down) is logged and retried at the next tick. Returns the totals."""
    totals = StepReport()
    started = time.monotonic()
    next_step_at = started
    last_summary_at = started

    def over() -> bool:
        return should_stop() or (seconds is not None and time.monotonic() - started >= seconds)

    while not over():
        close_old_connections()  # a connection broken by a database restart is replaced
        try:
            totals.add(simulator.step())
        except Exception:  # keep the demo alive through hiccups
            logger.exception("demo step failed; retrying in %.1f s", interval_s)
            totals.errors += 1
        if time.monotonic() - last_summary_at >= 60:
            last_summary_at = time.monotonic()
            logger.info("demo bots so far: %s", totals)
        next_step_at = max(next_step_at + interval_s, time.monotonic())
        while not over() and time.monotonic() < next_step_at:
            time.sleep(min(0.1, next_step_at - time.monotonic()))
    close_old_connections()
    return totals
