from django.apps import AppConfig


class WalletsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "wallets"

    def ready(self) -> None:
        from wallets.holds import register_hold_source
        from wallets.selectors import withdrawal_pending_holds

        register_hold_source("wallets.withdrawals", withdrawal_pending_holds)
        from tradehive.metrics import scrape_collector_register
        from wallets import metrics

        scrape_collector_register(metrics.collect)
