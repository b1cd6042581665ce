"""Web pages of markets (templates, session auth)."""

from django.urls import path  # noqa: F401

app_name = "markets"
urlpatterns: list = []
