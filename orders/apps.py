from django.apps import AppConfig


class OrdersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "orders"

    def ready(self) -> None:
        from orders.quarantine import order_holds_never_settling
        from orders.selectors import order_open_holds
        from wallets.holds import register_hold_source, register_stuck_hold_check

        register_hold_source("orders.open", order_open_holds)
        register_stuck_hold_check("orders.never_settling", order_holds_never_settling)
        from orders import metrics
        from tradehive.metrics import scrape_collector_register

        scrape_collector_register(metrics.collect)
