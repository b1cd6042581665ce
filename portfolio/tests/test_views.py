"""The portfolio page's edges: a login is needed, a bad date is a form error, never a 5xx."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.services import user_create
from wallets.seed import asset_seed_defaults

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser() -> Client:
    asset_seed_defaults()
    client = Client()
    client.force_login(user_create(username="viewer", email="v@example.com", password="x-long-1"))
    return client


def test_the_page_needs_a_login(client) -> None:
    # when an anonymous visitor asks; then they are sent to log in
    assert client.get("/portfolio/").status_code == 302


def test_an_empty_portfolio_reads_as_nothing_yet(browser) -> None:
    # when a new user opens the page
    page = browser.get("/portfolio/").content.decode()
    # then it says there is nothing yet, with a way to start
    assert "Nothing yet." in page
    assert "No activity yet." in page


@pytest.mark.parametrize(
    "query",
    [{"since": "2999-01-01"}, {"since": "1900-01-01"}, {"since": "yesterday"}, {"days": "2"}],
)
def test_a_bad_date_is_a_form_error(browser, query) -> None:
    # when the page gets a date it cannot count from
    answer = browser.get("/portfolio/", query)
    # then it answers 400 with the page and the reason, counting from the default instead
    assert answer.status_code == 400
    assert "Profit or loss" in answer.content.decode()
