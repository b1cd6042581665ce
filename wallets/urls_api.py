"""REST endpoints of wallets under /api/v1/ (API.md)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
