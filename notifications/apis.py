"""REST endpoints of notifications under /api/v1/ (docs/api.md "Notifications")."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.requests import AuthenticatedRequest
from notifications.models import Notification
from notifications.selectors import notification_list_for_user
from notifications.services import notification_mark_all_read, notification_mark_read
from tradehive.api_fields import QueryBoolean, Timestamp
from tradehive.pagination import Cursor
from tradehive.query_params import query_validate


class NotificationOut(serializers.ModelSerializer):
    read = serializers.BooleanField(source="is_read")
    created_at = Timestamp()
    read_at = Timestamp(allow_null=True)

    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "data", "read", "created_at", "read_at"]


class NotificationListApi(APIView):
    pagination_class = Cursor

    class ListQuery(serializers.Serializer):
        unread = QueryBoolean(required=False, default=False)

    @extend_schema(
        parameters=[ListQuery], responses={200: NotificationOut(many=True)}, tags=["notifications"]
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        query = query_validate(self.ListQuery, request)
        notifications = notification_list_for_user(user_id=request.user.pk, unread=query["unread"])
        paginator = Cursor()
        page = paginator.paginate_queryset(notifications, request, view=self)
        return paginator.get_paginated_response(NotificationOut(page, many=True).data)


class NotificationReadApi(APIView):
    @extend_schema(request=None, responses=NotificationOut, tags=["notifications"])
    def post(self, request: AuthenticatedRequest, notification_id: int) -> Response:
        notification = notification_mark_read(
            user_id=request.user.pk, notification_id=notification_id
        )
        return Response(NotificationOut(notification).data)


class NotificationReadAllApi(APIView):
    @extend_schema_serializer(component_name="NotificationsMarked")
    class ReadAllOut(serializers.Serializer):
        marked = serializers.IntegerField()

    @extend_schema(request=None, responses=ReadAllOut, tags=["notifications"])
    def post(self, request: AuthenticatedRequest) -> Response:
        return Response({"marked": notification_mark_all_read(user_id=request.user.pk)})
