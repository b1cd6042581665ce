"""Copy trading in Django admin: leaders, subscriptions (an admin may stop one), each market's
slippage cap, and the intents and copies (read-only: they are the record of what happened)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from copytrading.models import CopyIntent, CopyOrder, Leader, MarketCopySetting, Subscription
from copytrading.services import subscription_close


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Leader)
class LeaderAdmin(admin.ModelAdmin):
    list_display = ("user", "status", "profit_share_rate", "min_copy_amount", "max_followers")
    list_filter = ("status",)
    search_fields = ("user__username", "user__handle")
    readonly_fields = ("user", "started_at", "stopped_at")


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnly):
    list_display = ("id", "follower", "leader", "status", "stop_reason", "allocated", "created_at")
    list_filter = ("status", "stop_reason", "mode")
    search_fields = ("follower__username", "leader__user__username")
    actions = ["stop"]

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.is_superuser  # the action; every field stays read-only

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [f.name for f in Subscription._meta.fields]

    @admin.action(description="Stop (sell back and return the funds to the follower)")
    def stop(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        live = queryset.filter(status__in=("active", "paused"))
        for sub in live:
            subscription_close(subscription_id=sub.pk, reason=Subscription.StopReason.ADMIN)
        self.message_user(
            request, f"{live.count()} copy subscription(s) stopping.", messages.SUCCESS
        )


@admin.register(MarketCopySetting)
class MarketCopySettingAdmin(admin.ModelAdmin):
    list_display = ("pair", "slippage")


@admin.register(CopyIntent)
class CopyIntentAdmin(ReadOnly):
    list_display = (
        "id",
        "leader",
        "pair",
        "side",
        "price",
        "quantity",
        "status",
        "chunks_done",
        "chunks",
        "created_at",
        "done_at",
    )
    list_filter = ("status",)


@admin.register(CopyOrder)
class CopyOrderAdmin(ReadOnly):
    list_display = ("id", "intent", "subscription", "status", "reason", "order")
    list_filter = ("status", "reason")
