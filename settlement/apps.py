from django.apps import AppConfig


class SettlementConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "settlement"

    def ready(self) -> None:
        # Tickers show the book's best bid and ask, read from the engine.
        from markets.ticker import set_book_top_provider
        from orders.relay import market_recoverer_set
        from settlement.recovery import engine_recover
        from settlement.selectors import book_top

        set_book_top_provider(book_top)
        # An order submitted to a market whose engine state is missing rebuilds it first.
        market_recoverer_set(lambda pair: engine_recover(pair=pair))
        from settlement import metrics
        from tradehive.metrics import scrape_collector_register

        scrape_collector_register(metrics.collect)
