"""Feed metrics read at scrape time: the age of the stalest feed-priced market's price."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import Metric

from feeds.selectors import feed_age_ms
from tradehive.metrics import gauge


def collect() -> Iterable[Metric]:
    age, stale = feed_age_ms()
    if age is not None:
        yield gauge(
            "tradehive_feed_age_ms",
            "Age of the stalest feed-priced market's newest observation.",
            [({}, age)],
        )
    yield gauge(
        "tradehive_feed_stale", "1 if some feed-priced market's price is stale.", [({}, stale)]
    )
