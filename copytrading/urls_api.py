"""REST endpoints of copy trading under /api/v1/copy/."""

from django.urls import path

from copytrading import apis

urlpatterns = [
    path("copy/leaders", apis.LeaderListApi.as_view(), name="copy-leaders"),
    path("copy/leaders/<str:handle>", apis.LeaderDetailApi.as_view(), name="copy-leader"),
    path("copy/lead", apis.LeadApi.as_view(), name="copy-lead"),
    path("copy/subscriptions", apis.SubscriptionListApi.as_view(), name="copy-subscriptions"),
    path(
        "copy/subscriptions/<int:subscription_id>",
        apis.SubscriptionDetailApi.as_view(),
        name="copy-subscription",
    ),
    path(
        "copy/subscriptions/<int:subscription_id>/top-up",
        apis.SubscriptionTopUpApi.as_view(),
        name="copy-subscription-top-up",
    ),
    path(
        "copy/subscriptions/<int:subscription_id>/withdraw",
        apis.SubscriptionWithdrawApi.as_view(),
        name="copy-subscription-withdraw",
    ),
    path(
        "copy/subscriptions/<int:subscription_id>/copies",
        apis.CopyListApi.as_view(),
        name="copy-subscription-copies",
    ),
]
