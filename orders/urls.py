"""Web pages of orders (templates, session auth)."""

from django.urls import path  # noqa: F401

app_name = "orders"
urlpatterns: list = []
