"""The accessibility pass: axe-core (vendored, ``tradehive/testing/vendor/axe-core``) run on the
site's main pages at both window sizes, against the live stack with a market that has a book,
trades and a chart, a trader with orders and holdings, a leader in the rankings and a copy.

A violation of impact ``serious`` or ``critical`` fails the test, listed as rule, impact,
element and axe's help text; ``moderate`` and ``minor`` ones are left to review (they include
best-practice rules, not WCAG failures)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from accounts.models import User
from copytrading.services import CopyTerms, leader_start, subscription_create
from markets.models import TradingPair
from orders.models import Fill
from orders.services import order_place
from rankings.services import rankings_rebuild
from tradehive.testing.browser import watched_page
from tradehive.testing.exchange import (
    LIVE_TIMEOUT_MS,
    SIZES,
    book_levels_place,
    log_in,
    off_the_loop,
    open_trade_page,
    trade_history_record,
)
from tradehive.testing.processes import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

D = Decimal
AXE = Path(__file__).resolve().parents[1] / "testing" / "vendor" / "axe-core" / "axe.min.js"
FAILING_IMPACTS = ("serious", "critical")
BOOK_LEVEL = re.compile(r"^(Sell|Buy) [\d,]+ KRW, amount [\d,]+ LPJ\. Use this price$")

# axe's result, cut to what a failure message needs (every node's selector and why it failed),
# and how many rules passed: a page axe could not check would show no violation either.
AXE_RUN = """async () => {
  const results = await axe.run(document, { resultTypes: ["violations"] });
  return {
    passed: results.passes.length,
    violations: results.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({ target: n.target.join(" "), summary: n.failureSummary })),
    })),
  };
}"""


@pytest.fixture
def page(request: pytest.FixtureRequest, browser: Browser) -> Iterator[Page]:
    """The watched page of ``tradehive.testing.browser``, in a context that lets Playwright add
    axe as an inline script: the site's Content-Security-Policy (``script-src 'self'``) would
    refuse it. What the pages themselves load is unchanged."""
    yield from watched_page(request, browser, bypass_csp=True)


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe's violations on the page as it stands (scripts run, live data in)."""
    page.add_script_tag(path=str(AXE))
    results = page.evaluate(AXE_RUN)
    assert results["passed"] > 0, f"axe checked nothing on {page.url}"
    return list(results["violations"])


def violations_report(found: dict[str, list[dict[str, Any]]]) -> str:
    lines = []
    for where, violations in found.items():
        for v in violations:
            lines.append(f"{where}: {v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
            for node in v["nodes"][:8]:
                summary = " ".join(node["summary"].split())
                lines.append(f"    {node['target']}: {summary}")
            if len(v["nodes"]) > 8:
                lines.append(f"    ... and {len(v['nodes']) - 8} more elements")
    return "\n".join(lines)


def seed_exchange(pair: TradingPair, web_user: Callable[..., User]) -> None:
    """A market with hours of trades (chart, 24h figures), a two-sided book, a trader with open
    orders, a fill and a public profile, a leader followed by a copy."""
    last = trade_history_record(
        pair, count=240, seconds_apart=45, seed=19, first_sequence=10_000_000
    )
    maker = web_user("marketmaker", LPJ="50000", KRW="50000000")
    book_levels_place(pair, maker, around=last, levels=8, max_quantity=40, seed=19)
    trader = web_user("trader", LPJ="500", KRW="2000000")
    # a buy that takes the best ask (a fill for the orders page, the portfolio and the
    # rankings), and one order resting on each side
    for side, quantity, price in (
        ("buy", 2, last + 2),
        ("buy", 20, last - 40),
        ("sell", 15, last + 45),
    ):
        order_place(
            user=trader,
            symbol=pair.symbol,
            side=side,
            type="limit",
            quantity=D(quantity),
            price=D(price),
        )
    wait_until(
        lambda: Fill.objects.filter(order__user=trader).exists(),
        timeout=30,
        what="the trader's fill to settle",
    )
    User.objects.filter(pk=trader.pk).update(rankings_opt_in=True)
    trader.refresh_from_db()
    rankings_rebuild()
    leader_start(user=trader, profit_share_rate=D("0.10"))
    follower = web_user("follower", KRW="500000")
    subscription_create(
        follower=follower, leader_handle="trader", amount=D(100000), terms=CopyTerms()
    )


@SIZES
def test_the_main_pages_have_no_serious_accessibility_violations(
    page: Page, web_market: TradingPair, web_stack: str, web_user, size
) -> None:
    page.set_viewport_size(size)
    page.set_default_timeout(LIVE_TIMEOUT_MS)
    # given a live market with data, a trader with orders and a public profile, a copy
    off_the_loop(lambda: seed_exchange(web_market, web_user))
    found: dict[str, list[dict[str, Any]]] = {}

    def check(where: str) -> None:
        serious = [v for v in axe_violations(page) if v["impact"] in FAILING_IMPACTS]
        if serious:
            found[where] = serious

    # when a visitor opens the pages anyone sees
    for path in ("/accounts/login/", "/accounts/signup/", "/", "/rankings/", "/traders/trader"):
        page.goto(f"{web_stack}{path}")
        check(path)
    page.goto(f"{web_stack}/no-such-page/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    check("404")
    page.goto(f"{web_stack}/markets/%00/")
    expect(page.get_by_role("heading", name="Bad request")).to_be_visible()
    check("400")
    # and the forms as they come back refused
    page.goto(f"{web_stack}/accounts/login/")
    page.get_by_label("Username").fill("trader")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".errorlist, .field-error").first).to_be_visible()
    check("/accounts/login/ (refused)")
    page.goto(f"{web_stack}/accounts/signup/")
    page.get_by_label("Username").fill("trader")
    page.get_by_label("Email").fill("trader@example.com")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Sign up").click()
    expect(page.locator(".errorlist, .field-error").first).to_be_visible()
    check("/accounts/signup/ (refused)")

    # and the follower (who has a copy) opens their pages, the trade page live
    open_trade_page(page, web_stack, "follower")
    # (a level of the book is a button named by what it shows, in words)
    expect(page.get_by_role("button", name=BOOK_LEVEL).first).to_be_visible()
    check("/markets/LPJ-KRW/")
    for path in (
        "/",
        "/wallet/",
        "/portfolio/",
        "/orders/",
        "/orders/?tab=history",
        "/orders/?tab=fills",
        "/rankings/",
        "/traders/trader",
        "/copy/",
        "/copy/follow/trader",
        "/accounts/profile/",
    ):
        page.goto(f"{web_stack}{path}")
        check(path)
    page.goto(f"{web_stack}/copy/")
    page.get_by_role("link", name="Details").first.click()
    check("copy subscription")
    page.goto(f"{web_stack}/accounts/profile/")
    page.get_by_role("button", name="Set up").click()
    expect(page).to_have_url(f"{web_stack}/accounts/mfa/setup/")
    check("/accounts/mfa/setup/")
    page.goto(f"{web_stack}/no-such-page/")
    check("404 (logged in)")

    # and the trader (open orders, fills, leading) opens theirs, the notifications panel open
    page.context.clear_cookies()
    log_in(page, web_stack, "trader", "/orders/")
    check("/orders/ (trader)")
    for path in ("/portfolio/", "/copy/", "/accounts/profile/"):
        page.goto(f"{web_stack}{path}")
        check(f"{path} (trader)")
    open_trade_page(page, web_stack, "trader")
    expect(page.locator("[data-open-orders] tr")).to_have_count(2)
    expect(
        page.get_by_role("button", name=re.compile(r", amount 15 LPJ, including your order\."))
    ).to_be_visible()
    page.get_by_role("tab", name="Sell", exact=True).click()
    page.get_by_role("button", name="Notifications").click()
    expect(page.locator("#notify-panel")).to_be_visible()
    check("/markets/LPJ-KRW/ (trader, selling)")
    # and its other views: the depth chart, the history and fills tabs, the market switcher
    page.get_by_role("button", name="Notifications").click()
    page.get_by_role("button", name="Depth").click()
    page.get_by_role("tab", name="Order history").click()
    check("/markets/LPJ-KRW/ (depth, order history)")
    page.get_by_role("tab", name="My fills").click()
    page.get_by_role("button", name="LPJ/KRW: switch market").click()
    expect(page.get_by_role("dialog", name="Switch market")).to_be_visible()
    check("/markets/LPJ-KRW/ (fills, market switcher)")

    # then none has a serious or critical violation
    assert not found, "axe found serious accessibility violations:\n" + violations_report(found)
