"""Web pages of wallets (templates, session auth)."""

from django.urls import path  # noqa: F401

app_name = "wallets"
urlpatterns: list = []
