"""Websocket routes. The realtime consumer (API.md "WebSocket") is mounted at ``/ws/``."""

from django.urls import path

from realtime.consumers import RealtimeConsumer

websocket_urlpatterns: list = [
    path("ws/", RealtimeConsumer.as_asgi()),
]
