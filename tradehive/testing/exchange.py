"""pytest plugin for browser tests of the trading site against a live stack (registered in the
root ``conftest.py``): uvicorn (pages, REST and ``/ws/``) and ``manage.py settle`` on the test
database and Redis, a book-priced market, funded users, and the steps every such test takes.

- ``web_market``: LPJ-KRW, tick 1 KRW, lot 1 LPJ, min notional 1,000 KRW, fees 0.1%/0.2%.
- ``web_user("alice", KRW="100000")``: a user with a password (``PASSWORD``) and deposits
  (within the demo's daily caps: ``wallets.conf``).
- ``web_stack``: the running processes; yields the base URL.
- ``DESKTOP`` and ``PHONE``: the two window sizes the site is checked at (1440x900, 390x844).

Mark the tests ``@pytest.mark.browser`` and ``@pytest.mark.django_db(transaction=True)``; run
them at both sizes with ``@SIZES`` (a ``size`` argument to pass to ``page.set_viewport_size``)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, TypeVar

import pytest
from django.conf import settings
from playwright.sync_api import Page, ViewportSize, expect

from tradehive.testing.processes import live_exchange

if TYPE_CHECKING:
    from accounts.models import User
    from markets.models import TradingPair

T = TypeVar("T")

PASSWORD = "a long browser passphrase 7"  # noqa: S105 - the test users' password
LIVE_TIMEOUT_MS = 15_000
DESKTOP: ViewportSize = {"width": 1440, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
SIZES = pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["1440x900", "390x844"])


@pytest.fixture
def web_market(redis_client) -> TradingPair:
    # Apps are imported when used: this plugin loads before Django's app registry is ready.
    from markets.models import TradingPair
    from markets.services import pair_create
    from settlement.services import settlement_group_ensure
    from tradehive.redis_client import get_redis
    from wallets.seed import asset_seed_defaults

    assets = {a.symbol: a for a in asset_seed_defaults()}
    pair = pair_create(
        base=assets["LPJ"],
        quote=assets["KRW"],
        tick_size=Decimal(1),
        lot_size=Decimal(1),
        min_notional=Decimal(1000),
        maker_fee=Decimal("0.001"),
        taker_fee=Decimal("0.002"),
        actor=None,
    )
    settlement_group_ensure(get_redis(), pair.symbol)
    return TradingPair.objects.select_related("base", "quote").get(pk=pair.pk)


@pytest.fixture
def web_user() -> Callable[..., User]:
    from accounts.services import user_create
    from wallets.deposits import deposit_create

    def make(username: str, **funds: str) -> User:
        user = user_create(username=username, email=f"{username}@example.com", password=PASSWORD)
        for symbol, amount in funds.items():
            # Off the test's thread: a deposit pushes the balance (Playwright's loop runs here).
            off_the_loop(
                partial(deposit_create, user=user, asset_symbol=symbol, amount=Decimal(amount))
            )
        return user

    return make


@pytest.fixture
def web_stack(web_market) -> Iterator[str]:
    """uvicorn + the settlement process on the test database; yields the base URL. The
    children run the settings this process runs (password hashes must verify alike)."""
    with live_exchange(DJANGO_SETTINGS_MODULE=settings.SETTINGS_MODULE) as address:
        yield f"http://{address}"


def log_in(page: Page, base: str, username: str, next_path: str) -> None:
    page.goto(f"{base}/accounts/login/?next={next_path}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{base}{next_path}")


def open_trade_page(page: Page, base: str, username: str, symbol: str = "LPJ-KRW") -> None:
    """Log in and open the trade page; returns once its scripts are wired and its websocket
    is live."""
    log_in(page, base, username, f"/markets/{symbol}/")
    expect(page.locator("[data-trade]")).to_have_attribute("data-ready", "1")
    expect(page.locator("body")).to_have_attribute("data-live", "live", timeout=LIVE_TIMEOUT_MS)


def place_from_form(
    page: Page, side: str, price: str, quantity: str, *, time_in_force: str = "GTC"
) -> None:
    """A limit order from the trade page's form (on a phone the form is scrolled to)."""
    page.get_by_role("tab", name=side.capitalize(), exact=True).click()
    page.get_by_label("Order type").select_option("limit")
    page.get_by_label("Price (KRW)", exact=True).fill(price)
    page.get_by_label("Quantity (LPJ)").fill(quantity)
    page.get_by_label("Time in force").select_option(time_in_force)
    page.get_by_role("button", name=f"{side.capitalize()} LPJ").click()


def page_width(page: Page) -> int:
    """How wide the document is: more than the window means the page scrolls sideways."""
    return int(page.evaluate("document.documentElement.scrollWidth"))


def in_view(page: Page, selector_or_locator: object) -> bool:
    """Whether an element lies wholly inside the window, without scrolling sideways."""
    locator = (
        page.locator(selector_or_locator)
        if isinstance(selector_or_locator, str)
        else selector_or_locator
    )
    box = locator.bounding_box()  # type: ignore[attr-defined]
    width = page.viewport_size["width"] if page.viewport_size else 0
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width


def off_the_loop(action: Callable[[], T]) -> T:
    """Run ``action`` in a thread of its own and return its result (or raise its error).

    Playwright's sync API keeps an event loop running in the test's thread, where a service
    that pushes (``async_to_sync``) refuses to run; an admin's action, say, runs here instead,
    as it would in its own web request."""
    from django.db import connection

    result: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(action())
        except BaseException as exc:  # handed to the caller's thread below
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]


def trade_history_record(
    pair: TradingPair, *, count: int, seconds_apart: int, seed: int, first_sequence: int
) -> int:
    """``count`` made-up trades ending now, ``seconds_apart`` apart, as a random walk from
    1,000 (never under 900) in whole prices (for the chart and the 24h figures); returns the
    last price. ``first_sequence`` keeps them clear of the engine's own sequence numbers."""
    import math
    import random
    from datetime import timedelta

    from django.db import transaction
    from django.utils import timezone

    from markets.services import TradeInput, trades_record

    rng = random.Random(seed)  # noqa: S311 - made-up prices for a page under test
    now = timezone.now()
    price = 1000.0
    history = []
    for n in range(count):
        price = max(900.0, price * math.exp(rng.gauss(0, 0.003)))
        history.append(
            TradeInput(
                sequence=first_sequence + n,
                created_at=now - timedelta(seconds=(count - n) * seconds_apart),
                price=Decimal(round(price)),
                quantity=Decimal(rng.randint(2, 30)),
                taker_side=rng.choice(["buy", "sell"]),
            )
        )
    with transaction.atomic():
        trades_record(pair=pair, trades=history)
    return int(history[-1].price)


def book_levels_place(
    pair: TradingPair, maker: User, *, around: int, levels: int, max_quantity: int, seed: int
) -> None:
    """``levels`` resting limits a side from ``maker``, 2 ticks apart on both sides of
    ``around``, of random sizes up to ``max_quantity``: a two-sided book as a demo market has."""
    import random

    from orders.services import order_place

    rng = random.Random(seed)  # noqa: S311 - made-up sizes for a page under test
    for step in range(1, levels + 1):
        for side, offset in (("sell", step * 2), ("buy", -step * 2)):
            order_place(
                user=maker,
                symbol=pair.symbol,
                side=side,
                type="limit",
                quantity=Decimal(rng.randint(3, max_quantity)),
                price=Decimal(around + offset),
            )
