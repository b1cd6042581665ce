from django.apps import AppConfig


class FeedsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "feeds"
    verbose_name = "Price feeds"

    def ready(self) -> None:
        # Every market priced by a feed (sim, upbit, bithumb, ...) prices its market orders,
        # ticker ``last`` and API freshness from the feed's price window.
        from feeds.price_source import FeedPriceSource
        from markets import price_sources

        price_sources.register(FeedPriceSource())
        from feeds import metrics
        from tradehive.metrics import scrape_collector_register

        scrape_collector_register(metrics.collect)
