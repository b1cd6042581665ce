"""``/api/v3/`` and ``/sapi/v1/`` (mounted at the root by ``tradehive.urls``). URL names start with
``binance-`` (the request limiter's weights are keyed by them); every other path under either
prefix answers Binance's "not supported" (``UnknownPathApi``)."""

from django.urls import include, path, re_path

from binance_compat import apis

api_v3 = [
    path("ping", apis.PingApi.as_view(), name="binance-ping"),
    path("time", apis.TimeApi.as_view(), name="binance-time"),
    path("exchangeInfo", apis.ExchangeInfoApi.as_view(), name="binance-exchange-info"),
    path("depth", apis.DepthApi.as_view(), name="binance-depth"),
    path("trades", apis.TradesApi.as_view(), name="binance-trades"),
    path("aggTrades", apis.AggTradesApi.as_view(), name="binance-agg-trades"),
    path("klines", apis.KlinesApi.as_view(), name="binance-klines"),
    path("ticker/24hr", apis.Ticker24hrApi.as_view(), name="binance-ticker-24hr"),
    path("ticker/price", apis.TickerPriceApi.as_view(), name="binance-ticker-price"),
    path("ticker/bookTicker", apis.BookTickerApi.as_view(), name="binance-book-ticker"),
    path("account", apis.AccountApi.as_view(), name="binance-account"),
    path("order", apis.OrderApi.as_view(), name="binance-order"),
    path("openOrders", apis.OpenOrdersApi.as_view(), name="binance-open-orders"),
    path("allOrders", apis.AllOrdersApi.as_view(), name="binance-all-orders"),
    path("myTrades", apis.MyTradesApi.as_view(), name="binance-my-trades"),
    re_path(r"^.*$", apis.UnknownPathApi.as_view(), name="binance-unknown"),
]

sapi_v1 = [
    path("capital/config/getall", apis.CapitalConfigApi.as_view(), name="binance-capital-config"),
    path("capital/deposit/hisrec", apis.DepositHistoryApi.as_view(), name="binance-deposits"),
    path("capital/withdraw/history", apis.WithdrawHistoryApi.as_view(), name="binance-withdrawals"),
    path("capital/withdraw/apply", apis.WithdrawApplyApi.as_view(), name="binance-withdraw"),
    path("asset/tradeFee", apis.TradeFeeApi.as_view(), name="binance-trade-fee"),
    path("margin/allPairs", apis.MarginPairsApi.as_view(), name="binance-margin-pairs"),
    path("margin/isolated/allPairs", apis.MarginPairsApi.as_view(), name="binance-isolated-pairs"),
    re_path(r"^.*$", apis.UnknownPathApi.as_view(), name="binance-sapi-unknown"),
]

urlpatterns = [path("api/v3/", include(api_v3)), path("sapi/v1/", include(sapi_v1))]
