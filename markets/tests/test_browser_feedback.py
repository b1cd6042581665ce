"""Order feedback at both window sizes: toasts for fills, rejections and cancels wherever the
order was placed (this page, another device, the API), the user's own orders marked in the
book, a question before cancelling everything or trading far from the last price, and a price
box that starts from the market."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from accounts.models import User
from markets.models import Trade
from orders.cancel import order_cancel
from orders.models import Order
from orders.services import order_place
from tradehive.testing.browser import screenshot_save
from tradehive.testing.exchange import (
    LIVE_TIMEOUT_MS,
    SIZES,
    log_in,
    off_the_loop,
    open_trade_page,
)
from tradehive.testing.processes import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def place(user: User, side: str, quantity: int, price: int, **options) -> Order:
    """An order placed outside the page (a bot on the API, another device)."""
    return order_place(
        user=user,
        symbol="LPJ-KRW",
        side=side,
        type="limit",
        quantity=Decimal(quantity),
        price=Decimal(price),
        **options,
    )


def market_with_a_last_price(web_user) -> User:
    """A trade at 1,000 KRW, a maker's ask of 10 at 1,010 and bid of 10 at 990; returns the
    maker."""
    maker = web_user("maker", LPJ="100", KRW="1000000")
    taker = web_user("taker", KRW="10000")
    place(maker, "sell", 1, 1000)
    place(taker, "buy", 1, 1000)
    wait_until(Trade.objects.exists, what="the first trade to settle")
    place(maker, "sell", 10, 1010)
    place(maker, "buy", 10, 990)
    return maker


def toasts(page: Page):
    return page.locator("[data-toasts] .toast")


@SIZES
def test_own_orders_are_marked_far_prices_and_cancel_all_are_asked_about(
    page: Page, web_stack: str, web_user, size
) -> None:
    page.set_viewport_size(size)
    page.set_default_timeout(LIVE_TIMEOUT_MS)
    # given a market whose last price is 1,000 and a trader with an ask at 1,020 and a bid at
    # 980 placed earlier from the API
    market_with_a_last_price(web_user)
    me = web_user("mine", KRW="100000", LPJ="20")
    place(me, "sell", 5, 1020)
    place(me, "buy", 2, 980)
    # when the trader opens the trade page
    open_trade_page(page, web_stack, "mine")

    # then the price box starts from the last price
    expect(page.get_by_label("Price (KRW)", exact=True)).to_have_value("1000")
    # and the levels of their own orders are marked, the others not
    mine = page.locator("button.level.mine:not([hidden])")
    expect(mine).to_have_count(2)
    expect(
        page.get_by_role(
            "button", name="Sell 1,020 KRW, amount 5 LPJ, including your order. Use this price"
        )
    ).to_be_visible()
    expect(
        page.get_by_role(
            "button", name="Buy 980 KRW, amount 2 LPJ, including your order. Use this price"
        )
    ).to_be_visible()
    expect(
        page.get_by_role("button", name="Sell 1,010 KRW, amount 10 LPJ. Use this price")
    ).to_be_visible()

    # when they buy 1 at 1,200 (20% above the last price), they are asked first
    page.get_by_label("Price (KRW)", exact=True).fill("1,200")
    page.get_by_label("Quantity (LPJ)").fill("1")
    page.get_by_role("button", name="Buy LPJ").click()
    dialog = page.get_by_role("dialog", name="Far from the market price")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(
        "Your buy price 1,200 KRW is 20% above the last price 1,000 KRW."
    )
    screenshot_save(page, f"trade-far-price-{size['width']}")
    # and going back places nothing
    dialog.get_by_role("button", name="Change the price").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_label("Price (KRW)", exact=True)).to_be_focused()
    assert Order.objects.filter(user=me).count() == 2
    # when they confirm, it fills against the best ask, and a toast says so
    page.get_by_role("button", name="Buy LPJ").click()
    dialog.get_by_role("button", name="Place buy at 1,200 KRW").click()
    expect(page.locator("[data-outcome]")).to_have_text(
        "Buy 1 LPJ at 1,200 KRW: 1 LPJ filled at 1,010 KRW."
    )
    expect(toasts(page).filter(has_text="Buy 1 LPJ filled at 1,010 KRW")).to_have_count(1)

    # when they press Cancel all, they are asked, and keeping them keeps them
    page.get_by_role("button", name="Cancel all").click()
    ask = page.get_by_role("dialog", name="Cancel all 2 open orders?")
    expect(ask).to_be_visible()
    ask.get_by_role("button", name="Keep them").click()
    expect(page.locator("[data-open-count]")).to_have_text("2")
    # and confirming cancels both, with a toast for each
    page.get_by_role("button", name="Cancel all").click()
    ask.get_by_role("button", name="Cancel all orders").click()
    expect(page.locator("[data-open-count]")).to_have_text("0")
    expect(toasts(page).filter(has_text="Sell 5 LPJ at 1,020 KRW cancelled.")).to_have_count(1)
    expect(toasts(page).filter(has_text="Buy 2 LPJ at 980 KRW cancelled.")).to_have_count(1)
    expect(page.locator("button.level.mine:not([hidden])")).to_have_count(0)


@SIZES
def test_orders_placed_elsewhere_are_toasted_on_any_page(
    page: Page, web_stack: str, web_user, size
) -> None:
    page.set_viewport_size(size)
    page.set_default_timeout(LIVE_TIMEOUT_MS)
    # given a market with an ask of 10 at 1,010 and a trader looking at their wallet page
    market_with_a_last_price(web_user)
    me = web_user("mine", KRW="100000")
    log_in(page, web_stack, "mine", "/wallet/")
    expect(page.locator("body")).to_have_attribute("data-live", "live", timeout=LIVE_TIMEOUT_MS)

    # when an order of theirs placed on the API fills
    off_the_loop(lambda: place(me, "buy", 2, 1010))
    # then a toast says so on the page they are on
    expect(toasts(page).filter(has_text="Buy 2 LPJ filled at 1,010 KRW")).to_have_count(1)

    # when a post-only order of theirs would take
    off_the_loop(lambda: place(me, "buy", 1, 1010, post_only=True))
    # then the toast says it was rejected and why
    rejected = toasts(page).filter(has_text="rejected: post-only, it would have traded at once")
    expect(rejected).to_have_count(1)
    expect(rejected).to_have_attribute("data-tone", "error")

    # when a bid of theirs rests and they cancel it from another device
    bid = off_the_loop(lambda: place(me, "buy", 3, 950))
    wait_until(lambda: Order.objects.get(pk=bid.pk).status == "open", what="the bid to rest")
    off_the_loop(lambda: order_cancel(user=me, order_id=bid.pk))
    # then that is toasted too
    expect(toasts(page).filter(has_text="Buy 3 LPJ at 950 KRW cancelled.")).to_have_count(1)
    screenshot_save(page, f"toasts-{size['width']}")
    # and a toast can be dismissed
    toasts(page).first.get_by_role("button", name="Dismiss").click()
    expect(toasts(page)).to_have_count(2)
