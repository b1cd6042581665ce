"""The leaderboard, a public profile and the opt-in, in headless Chromium (live server)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from accounts.models import User
from accounts.tests.factories import DEFAULT_PASSWORD
from rankings.services import rankings_rebuild
from rankings.tests.conftest import NOW

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_leaderboard_links_to_a_profile_with_an_equity_curve(
    page: Page, live_server: LiveServer, screenshot: Callable[[str], Path], history
) -> None:
    # given
    User.objects.filter(handle="carol").update(is_bot=True)
    rankings_rebuild(now=NOW)
    base = live_server.url
    # when a visitor opens the leaderboard from the top bar
    page.goto(f"{base}/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Leaderboard").click()
    page.get_by_role("link", name="all", exact=True).click()
    # then the traders are ranked by return, the bot labelled
    rows = page.locator("[data-leaderboard] tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_have_attribute("data-trader", "erin")
    expect(rows.nth(0)).to_contain_text("32.00%")
    expect(page.locator("tr[data-trader=carol] .tag")).to_have_text("bot")
    screenshot("rankings-leaderboard")
    # when they hide bots
    page.get_by_role("link", name="hidden").click()
    expect(rows).to_have_count(2)

    # when they open a profile
    page.get_by_role("link", name="erin").click()
    # then the curve is drawn and the mix is in percent
    expect(page.get_by_role("heading", name="erin")).to_be_visible()
    curve = page.locator("[data-curve]")
    expect(curve.locator("canvas").first).to_be_visible()
    expect(curve).to_have_attribute("data-points", "3")
    expect(page.locator("[data-asset-mix]")).to_contain_text("ETH: 90.00%")
    expect(page.locator("tr[data-period=all]")).to_contain_text("32.00%")
    screenshot("rankings-profile")


def test_a_trader_opts_in_from_the_account_page(
    page: Page, live_server: LiveServer, trader
) -> None:
    # given
    bob = trader("bob", opt_in=False)
    base = live_server.url
    page.goto(f"{base}/accounts/login/?next=/accounts/profile/")
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    # when
    page.get_by_label("Show me in the public rankings").check()
    page.get_by_role("button", name="Save profile").click()
    # then
    expect(page.locator(".messages")).to_contain_text("Profile saved")
    bob.refresh_from_db()
    assert bob.rankings_opt_in is True
    expect(page.get_by_label("Show me in the public rankings")).to_be_checked()
