"""Web pages of the portfolio (templates, session auth), mounted at /portfolio/."""

from django.urls import path

from portfolio import views

app_name = "portfolio"
urlpatterns = [path("", views.portfolio_page, name="page")]
