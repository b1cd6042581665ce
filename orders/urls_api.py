"""REST endpoints of orders under /api/v1/ (API.md "Orders")."""

from django.urls import path

from orders.apis import FillListApi, OrderDetailApi, OrderListApi

urlpatterns = [
    path("orders", OrderListApi.as_view(), name="orders"),
    path("orders/<int:order_id>", OrderDetailApi.as_view(), name="order-detail"),
    path("fills", FillListApi.as_view(), name="fills"),
]
