"""Web pages of copy trading, under /copy/."""

from django.urls import path

from copytrading import views

app_name = "copytrading"
urlpatterns = [
    path("", views.home, name="home"),
    path("lead", views.lead, name="lead"),
    path("lead/stop", views.lead_stop, name="lead-stop"),
    path("follow/<str:handle>", views.follow, name="follow"),
    path("<int:subscription_id>/", views.subscription, name="subscription"),
    path(
        "<int:subscription_id>/<str:action>",
        views.subscription_action,
        name="subscription-action",
    ),
]
