"""REST endpoints under /api/v1/auth/ (API.md "Accounts")."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
