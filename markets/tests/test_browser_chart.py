"""The chart at both window sizes: a legend with the candle under the cursor (open, high, low,
close, volume, indicators), prices grouped like the rest of the page, a depth chart of the
book, and a young market's short history spread out with a note of where it starts."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from orders.services import order_place
from tradehive.testing.browser import screenshot_save
from tradehive.testing.exchange import (
    LIVE_TIMEOUT_MS,
    SIZES,
    open_trade_page,
    page_width,
    trade_history_record,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

D = Decimal


@SIZES
def test_the_chart_has_a_legend_a_grouped_axis_depth_and_a_note_on_short_history(
    page: Page, web_market, web_stack: str, web_user, size
) -> None:
    page.set_viewport_size(size)
    page.set_default_timeout(LIVE_TIMEOUT_MS)
    # given a market with three hours of trades and a book on both sides
    trade_history_record(
        web_market, count=360, seconds_apart=30, seed=11, first_sequence=20_000_000
    )
    maker = web_user("quoter", LPJ="1000", KRW="10000000")
    for step in range(1, 6):
        for side, price in (("sell", 1100 + step * 5), ("buy", 900 - step * 5)):
            order_place(
                user=maker,
                symbol="LPJ-KRW",
                side=side,
                type="limit",
                quantity=D(10 * step),
                price=D(price),
            )
    web_user("viewer", KRW="1000")
    # when a trader opens the trade page and turns on SMA 20
    open_trade_page(page, web_stack, "viewer")
    page.get_by_label("SMA 20").check()
    legend = page.locator("[data-legend]")
    # then the legend shows the latest candle's open, high, low, close, volume and the SMA
    expect(legend).to_contain_text(re.compile(r"O [\d,]+ H [\d,]+ L [\d,]+ C [\d,]+ Vol [\d,]+"))
    expect(legend).to_contain_text("SMA 20")
    latest = legend.inner_text()
    # when the cursor moves over an older candle, the legend follows it
    box = page.locator("[data-chart]").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5)
    expect(legend).not_to_have_text(latest)
    screenshot_save(page, f"chart-legend-{size['width']}")
    # and the price axis groups thousands as the rest of the page does
    grouped = page.evaluate(
        "import('/static/js/trade/chart.js').then((m) => m.axisPrice(95640000, 0))"
    )
    assert grouped == "95,640,000"

    # when the depth chart is chosen
    page.get_by_role("button", name="Depth", exact=True).click()
    depth = page.get_by_role("img", name=re.compile("^Depth chart of LPJ-KRW: bids from 895"))
    # then it draws the book, said in words too
    expect(depth).to_be_visible()
    expect(depth).to_have_attribute(
        "aria-label", re.compile(r"asks from 1,105 up to 1,125, 150 LPJ")
    )
    expect(page.get_by_label("SMA 20")).to_be_hidden()
    # and hovering near the best ask tells how much could be bought up to there
    box = depth.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.85, box["y"] + box["height"] * 0.5)
    expect(depth).to_have_attribute(
        "data-hover", re.compile(r"^[\d,]+ KRW: (buy|sell) [\d,]+ LPJ$")
    )
    screenshot_save(page, f"chart-depth-{size['width']}")

    # when the day interval is chosen on this young market
    page.get_by_role("button", name="Price", exact=True).click()
    page.get_by_role("button", name="1d", exact=True).click()
    # then a note says where its history starts
    # (one daily candle, two when the three hours began before midnight UTC)
    now = timezone.now()
    days = 1 if (now - timedelta(hours=3)).date() == now.date() else 2
    candles = "1 candle" if days == 1 else "2 candles"
    expect(page.locator("[data-history-note]")).to_contain_text(
        re.compile(rf"History since .+: {candles} of 1d\.")
    )
    assert page_width(page) <= size["width"]
