"""REST endpoints of markets under /api/v1/ (API.md)."""

from django.urls import path

from markets import apis

urlpatterns = [
    path("markets", apis.PairListApi.as_view(), name="markets-list"),
    path("markets/<str:symbol>", apis.PairDetailApi.as_view(), name="markets-detail"),
    path("tickers", apis.TickerListApi.as_view(), name="markets-tickers"),
    path("markets/<str:symbol>/ticker", apis.TickerApi.as_view(), name="markets-ticker"),
    path("markets/<str:symbol>/trades", apis.TradeListApi.as_view(), name="markets-trades"),
    path("markets/<str:symbol>/depth", apis.DepthApi.as_view(), name="markets-depth"),
    path("markets/<str:symbol>/candles", apis.CandleListApi.as_view(), name="markets-candles"),
    path(
        "markets/<str:symbol>/indicators", apis.IndicatorsApi.as_view(), name="markets-indicators"
    ),
]
