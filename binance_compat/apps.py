from django.apps import AppConfig


class BinanceCompatConfig(AppConfig):
    """The Binance-compatible REST surface (``/api/v3/``, ``/sapi/v1/``): an entry point that
    translates Binance's parameters and shapes and calls the same services as ``/api/v1/``."""

    name = "binance_compat"
    verbose_name = "Binance-compatible API"
