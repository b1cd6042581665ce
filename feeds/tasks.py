"""Celery tasks of price feeds (queue ``feeds``; beat schedules them, see settings)."""

from celery import shared_task

from feeds.services import feed_match_pass, feed_poll


@shared_task(ignore_result=True)
def poll_source(source: str) -> int:
    """Poll one price source into its markets' windows (beat, every 0.25 s per source)."""
    return feed_poll(source=source).observed


@shared_task(ignore_result=True)
def match_markets() -> int:
    """One matching pass over every feed-priced market (beat, every 0.5 s)."""
    return feed_match_pass().fills
