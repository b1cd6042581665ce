"""REST endpoints of wallets under /api/v1/wallet/ (API.md "Wallet")."""

from django.urls import path

from wallets import apis

urlpatterns = [
    path("balances", apis.BalanceListApi.as_view(), name="wallet-balances"),
    path("ledger", apis.LedgerListApi.as_view(), name="wallet-ledger"),
    path("deposits", apis.DepositListCreateApi.as_view(), name="wallet-deposits"),
    path("withdrawals", apis.WithdrawalListCreateApi.as_view(), name="wallet-withdrawals"),
    path(
        "withdrawals/<int:withdrawal_id>/cancel",
        apis.WithdrawalCancelApi.as_view(),
        name="wallet-withdrawal-cancel",
    ),
]
