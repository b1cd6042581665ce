"""Admin: orders and fills, read-only (money moves only through the order services and
settlement). Demo bots' orders are marked and can be filtered."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from orders.models import Fill, Order, OrderOutbox
from tradehive.admin_columns import amount_column


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class BotFilter(admin.SimpleListFilter):
    title = "placed by"
    parameter_name = "bot"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Demo bots"), ("no", "People")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(user__is_bot=True)
        if self.value() == "no":
            return queryset.filter(user__is_bot=False)
        return queryset


class FillInline(admin.TabularInline):
    model = Fill
    fields = (
        "engine_seq",
        "side",
        "price",
        "quantity",
        "quote_quantity",
        "fee",
        "fee_asset",
        "liquidity",
        "created_at",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "created_at",
        "pair",
        "user",
        "is_bot",
        "side",
        "type",
        "price_shown",
        "quantity_shown",
        "filled_quantity_shown",
        "status",
        "cancel_reason",
        "client_order_id",
    )
    list_filter = ("status", "pair", BotFilter, "side", "type", "time_in_force")
    search_fields = ("=id", "client_order_id", "user__username")
    list_select_related = ("user", "pair")
    date_hierarchy = "created_at"
    show_full_result_count = False  # counting every order of a busy exchange is slow
    inlines = [FillInline]
    price_shown = amount_column("price", lambda order: order.pair.price_places)
    quantity_shown = amount_column("quantity", lambda order: order.pair.quantity_places)
    filled_quantity_shown = amount_column(
        "filled_quantity", lambda order: order.pair.quantity_places, description="filled"
    )

    @admin.display(boolean=True, description="bot", ordering="user__is_bot")
    def is_bot(self, order: Order) -> bool:
        return order.user.is_bot


@admin.register(Fill)
class FillAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "created_at",
        "pair",
        "order",
        "user",
        "is_bot",
        "side",
        "price_shown",
        "quantity_shown",
        "fee_shown",
        "fee_asset",
        "liquidity",
    )
    price_shown = amount_column("price", lambda fill: fill.pair.price_places)
    quantity_shown = amount_column("quantity", lambda fill: fill.pair.quantity_places)
    fee_shown = amount_column("fee", lambda fill: fill.fee_asset.decimals)
    list_filter = ("pair", BotFilter, "side", "liquidity")
    search_fields = ("=order__id", "order__client_order_id", "user__username")
    list_select_related = ("user", "pair", "order", "fee_asset")
    date_hierarchy = "created_at"
    show_full_result_count = False

    @admin.display(boolean=True, description="bot", ordering="user__is_bot")
    def is_bot(self, fill: Fill) -> bool:
        return fill.user.is_bot


class QuarantinedFilter(admin.SimpleListFilter):
    title = "quarantined"
    parameter_name = "quarantined"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Quarantined"), ("no", "Waiting for the engine")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(quarantined_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(quarantined_at__isnull=True)
        return queryset


@admin.register(OrderOutbox)
class OrderOutboxAdmin(ReadOnlyAdmin):
    """Orders not yet acknowledged by the engine, and the quarantined ones (rejected, their
    hold released) with the reason the engine could not take them."""

    list_display = ("order", "created_at", "attempts", "quarantined_at", "quarantine_reason")
    list_filter = (QuarantinedFilter,)
    search_fields = ("=order__id",)
    list_select_related = ("order",)
