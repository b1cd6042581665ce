"""Websocket routes. The realtime consumer (API.md "WebSocket") is mounted at ``/ws/``."""

from django.urls import path  # noqa: F401 - used as routes are added

websocket_urlpatterns: list = []
