"""REST endpoints of notifications under /api/v1/."""

from django.urls import path

from notifications.apis import NotificationListApi, NotificationReadAllApi, NotificationReadApi

urlpatterns = [
    path("notifications", NotificationListApi.as_view(), name="notifications"),
    path("notifications/read-all", NotificationReadAllApi.as_view(), name="notifications-read-all"),
    path(
        "notifications/<int:notification_id>/read",
        NotificationReadApi.as_view(),
        name="notification-read",
    ),
]
