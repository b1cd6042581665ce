from django.apps import AppConfig


class SettlementConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "settlement"

    def ready(self) -> None:
        # Tickers show the book's best bid and ask, read from the engine.
        from markets.ticker import set_book_top_provider
        from settlement.selectors import book_top

        set_book_top_provider(book_top)
