"""Web pages of accounts (templates, session auth)."""

from django.urls import path  # noqa: F401

app_name = "accounts"
urlpatterns: list = []
