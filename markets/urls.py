"""Web pages of markets (templates, session auth)."""

from django.urls import path

from markets import views

app_name = "markets"
urlpatterns = [
    path("", views.market_list, name="list"),
    path("markets/<str:symbol>/", views.market_detail, name="detail"),
]
