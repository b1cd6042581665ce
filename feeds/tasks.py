"""Celery tasks of price feeds (queue ``feeds``; beat schedules them, see settings)."""

from celery import shared_task

from feeds.market_data import feed_candles_roll, feed_tickers_refresh
from feeds.matching import feed_match_pass
from feeds.polling import feed_poll


@shared_task(ignore_result=True)
def poll_source(source: str) -> int:
    """Poll one price source into its markets' windows (beat, every 0.25 s per source)."""
    return feed_poll(source=source).observed


@shared_task(ignore_result=True)
def match_markets() -> int:
    """One matching pass over every feed-priced market (beat, every 0.5 s)."""
    return feed_match_pass().fills


@shared_task(ignore_result=True)
def roll_candles() -> int:
    """Roll the price windows' new observations into candles (beat, every 2 s)."""
    return feed_candles_roll().rows


@shared_task(ignore_result=True)
def refresh_tickers() -> int:
    """Move the cached tickers of feed-priced markets to the feed (beat, every 1 s)."""
    outcome = feed_tickers_refresh()
    return len(outcome.moved) + len(outcome.recomputed)
