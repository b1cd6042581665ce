"""REST endpoints of rankings under /api/v1/ (API.md)."""

from django.urls import path

from rankings import apis

urlpatterns = [
    path("rankings", apis.RankingsApi.as_view(), name="rankings-list"),
    path("traders/<str:handle>", apis.TraderApi.as_view(), name="rankings-trader"),
]
