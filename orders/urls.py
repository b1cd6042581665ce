"""Web pages of orders (templates, session auth), mounted at /orders/."""

from django.urls import path

from orders import views

app_name = "orders"
urlpatterns = [
    path("", views.orders_page, name="page"),
    path("export.csv", views.orders_export, name="export"),
    path("cancel-all", views.orders_cancel_all_view, name="cancel-all"),
    path("<int:order_id>/cancel", views.order_cancel_view, name="cancel"),
]
