"""Web pages of rankings."""

from django.urls import path

from rankings import views

app_name = "rankings"
urlpatterns = [
    path("rankings/", views.leaderboard, name="leaderboard"),
    path("traders/<str:handle>", views.trader, name="trader"),
]
