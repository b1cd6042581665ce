"""Web pages of wallets (templates, session auth), mounted at /wallet/."""

from django.urls import path

from wallets import views

app_name = "wallets"
urlpatterns = [
    path("", views.wallet_page, name="home"),
    path("deposit", views.deposit, name="deposit"),
    path("withdraw", views.withdraw, name="withdraw"),
    path(
        "withdrawals/<int:withdrawal_id>/cancel", views.withdrawal_cancel, name="withdrawal-cancel"
    ),
]
