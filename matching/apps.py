from django.apps import AppConfig


class MatchingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "matching"

    def ready(self) -> None:
        # Tickers show the book's best bid and ask, read from the engine.
        from markets.ticker import set_book_top_provider
        from matching.selectors import book_top

        set_book_top_provider(book_top)
