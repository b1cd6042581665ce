from django.apps import AppConfig


class OrdersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "orders"

    def ready(self) -> None:
        from orders.selectors import order_open_holds
        from wallets.holds import register_hold_source

        register_hold_source("orders.open", order_open_holds)
