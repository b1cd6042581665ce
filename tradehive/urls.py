import os

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from tradehive.favicon import favicon
from tradehive.health import healthz
from tradehive.metrics import metrics_view

# Each app owns its URL modules; this file only mounts them.
api_v1 = [
    path("auth/", include("accounts.urls_api")),
    path("", include("accounts.urls_api_keys")),  # api-keys
    path("wallet/", include("wallets.urls_api")),
    path("", include("markets.urls_api")),  # markets, tickers, markets/{symbol}/...
    path("", include("orders.urls_api")),  # orders, fills
    path("", include("notifications.urls_api")),  # notifications
    path("", include("rankings.urls_api")),  # rankings, traders/{handle}
    path("", include("copytrading.urls_api")),  # copy/...
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("favicon.ico", favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("", include("binance_compat.urls")),  # /api/v3/, /sapi/v1/: the Binance-compatible API
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script (CSP).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path("accounts/", include("accounts.urls")),
    path("wallet/", include("wallets.urls")),
    path("orders/", include("orders.urls")),
    path(
        "portfolio/", include("portfolio.urls")
    ),  # /portfolio/: value, allocation, PnL  # /orders/: every market's orders and fills
    path("", include("rankings.urls")),  # /rankings/, /traders/<handle>
    path("copy/", include("copytrading.urls")),  # /copy/: my copies, leading, subscribing
    path("", include("markets.urls")),  # "/" is the market list; /markets/<symbol>/ a market
]

if os.environ.get("TRADEHIVE_BENCH_ENDPOINTS") == "1":  # bench/orders.py only; never deployed
    from tradehive.bench_views import BenchInsertApi

    urlpatterns.insert(0, path("api/v1/bench/insert", BenchInsertApi.as_view()))

handler400 = "tradehive.exceptions.handler400"
handler404 = "tradehive.exceptions.handler404"
handler500 = "tradehive.exceptions.handler500"
