"""Polling into bounded windows, skip-if-running and per-market locks, and where the feed's
freshness shows (health, market API, market page)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import override_settings

from engine.keys import feed_stats_key, prices_key
from feeds.matching import MATCH_LOCK_KEY, feed_match_pass
from feeds.polling import feed_poll

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("ledger_clean")]


def test_a_sim_poll_appends_one_observation_per_market_on_its_grid(xrp_krw, redis_client) -> None:
    # given the sim-priced XRP-KRW (tick 1, starts at 3000 KRW)
    # when the sim source is polled three times
    outcomes = [feed_poll(source="sim") for _ in range(3)]
    # then each poll observed the market once, whole ticks, with the engine seq of the moment
    assert [o.observed for o in outcomes] == [1, 1, 1]
    entries = redis_client.xrange(prices_key("XRP-KRW"))
    assert len(entries) == 3
    for _, fields in entries:
        assert int(fields["p"]) == Decimal(fields["raw"]).to_integral_value()
        assert fields["seq"] == "0"
    assert redis_client.hget(feed_stats_key("XRP-KRW"), "polls") == "3"


def test_the_price_window_is_bounded_in_size(xrp_krw, redis_client, observe) -> None:
    # given a window limited to about 100 entries
    with override_settings(FEED_WINDOW_MAXLEN=100):
        # when 1,000 observations arrive
        observe(xrp_krw, *[str(100 + i % 7) for i in range(1000)])
    # then the window holds about the last 100 (approximate trimming: whole radix nodes)
    assert 100 <= redis_client.xlen(prices_key("XRP-KRW")) < 300


def test_a_pass_skips_while_the_previous_one_runs(xrp_krw, redis_client, observe) -> None:
    # given a pass in progress (its lock held) and a pending observation
    observe(xrp_krw, "100")
    redis_client.set(MATCH_LOCK_KEY, "another-run", px=5000)
    # when beat starts another pass
    outcome = feed_match_pass()
    # then it returns at once, counted as skipped, and the window is untouched
    assert outcome.skipped
    assert redis_client.hget("feeds:match:stats", "skipped") == "1"
    assert redis_client.hget(feed_stats_key("XRP-KRW"), "cursor") is None
    # and once the lock is free the next pass reads the observation
    redis_client.delete(MATCH_LOCK_KEY)
    assert feed_match_pass().passes["XRP-KRW"].observations == 1


def test_a_market_locked_by_another_pass_waits_for_the_next(xrp_krw, redis_client, observe) -> None:
    # given another pass holding XRP-KRW's market lock
    observe(xrp_krw, "100")
    redis_client.set("feedlock:{XRP-KRW}", "other", px=5000)
    # when a pass runs
    outcome = feed_match_pass()
    # then it left that market alone (and did not release the other pass's lock)
    assert outcome.busy == ["XRP-KRW"]
    assert "XRP-KRW" not in outcome.passes
    assert redis_client.get("feedlock:{XRP-KRW}") == "other"


def test_a_market_without_engine_state_is_recovered_and_matched_next_pass(
    xrp_krw, redis_client, observe
) -> None:
    # given a feed market whose engine state was lost (flushed Redis) and an observation
    redis_client.delete("epoch:{XRP-KRW}")
    observe(xrp_krw, "100")
    # when a pass runs, then it rebuilt the market and kept its window for the next pass
    assert feed_match_pass().recovered == ["XRP-KRW"]
    assert feed_match_pass().passes["XRP-KRW"].observations == 1


def test_health_and_market_api_report_the_feed_age(xrp_krw, api_client, observe) -> None:
    # given a feed market never observed
    # when / then health reports the feed stale with no age
    body = api_client.get("/healthz").json()
    assert (body["feed_age_ms"], body["feed"]) == (None, "stale")
    # and after an observation it reports a small age, the API the time and age
    observe(xrp_krw, "100")
    body = api_client.get("/healthz").json()
    assert body["feed"] == "ok"
    assert 0 <= body["feed_age_ms"] < 5000
    market = api_client.get("/api/v1/markets/XRP-KRW").json()
    assert market["last_price_at"].endswith("Z")
    assert 0 <= market["feed_age_ms"] < 5000
    listed = {m["symbol"]: m for m in api_client.get("/api/v1/markets").json()}
    assert listed["XRP-KRW"]["last_price_at"] == market["last_price_at"]


def test_the_market_page_shows_the_feed_price_time(xrp_krw, client, observe) -> None:
    # given an observation of 123 KRW
    observe(xrp_krw, "123")
    # when the market page is shown
    page = client.get("/markets/XRP-KRW/").content.decode()
    # then it shows the feed price and its time
    assert 'data-field="feed_price"' in page
    assert "123 KRW at <time" in page, page[page.index('data-field="feed_price"') :][:400]
    # and no stale note (the page's script shows it if the feed goes stale)
    assert '<strong class="sell" data-feed-stale hidden>' in page


def test_the_stale_price_error_reaches_the_api(xrp_krw, api_client, make_user) -> None:
    # given a signed-in user and a feed market without a fresh price
    api_client.force_authenticate(make_user(KRW="10000"))
    # when they place a market order
    response = api_client.post(
        "/api/v1/orders",
        {"symbol": "XRP-KRW", "side": "buy", "type": "market", "quantity": "1"},
        format="json",
    )
    # then it is refused with 503 stale_price
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "stale_price"
