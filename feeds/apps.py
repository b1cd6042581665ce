from django.apps import AppConfig


class FeedsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "feeds"
    verbose_name = "Price feeds"

    def ready(self) -> None:
        # The 24h ticker of a feed-priced market shows the feed's newest price as ``last``.
        from feeds.services import feed_last_price
        from markets.ticker import set_feed_price_provider

        set_feed_price_provider(feed_last_price)
