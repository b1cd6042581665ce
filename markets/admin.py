"""Django admin as the markets operations console.

Pairs are created and edited through the services (validated, audited). Status changes only
through the halt / resume / cancel-only actions, which go through ``pair_set_status`` and are
audited as ``market.status_changed``. Markets are never deleted: orders and trades refer to
them; halt one instead."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from markets.models import Candle, Trade, TradingPair
from markets.services import PAIR_EDITABLE_FIELDS, pair_create, pair_set_status, pair_update
from tradehive.admin_columns import amount_column
from tradehive.form_fields import STRICT_DECIMAL_OVERRIDES
from tradehive.money import decimal_places


@admin.register(TradingPair)
class TradingPairAdmin(admin.ModelAdmin):
    formfield_overrides = STRICT_DECIMAL_OVERRIDES
    list_display = (
        "symbol",
        "status",
        "price_source",
        "tick_size_shown",
        "lot_size_shown",
        "min_notional_shown",
        "maker_fee_shown",
        "taker_fee_shown",
        "display_order",
        "updated_at",
    )
    # Terms as written (1, 0.0001, 0.002): the value's own decimals, not the column's 18.
    tick_size_shown = amount_column("tick_size", lambda pair: decimal_places(pair.tick_size))
    lot_size_shown = amount_column("lot_size", lambda pair: decimal_places(pair.lot_size))
    min_notional_shown = amount_column(
        "min_notional", lambda pair: decimal_places(pair.min_notional)
    )
    maker_fee_shown = amount_column("maker_fee", lambda pair: decimal_places(pair.maker_fee))
    taker_fee_shown = amount_column("taker_fee", lambda pair: decimal_places(pair.taker_fee))
    list_filter = ("status", "price_source", "quote")
    search_fields = ("symbol",)
    ordering = ("display_order", "symbol")
    actions = ("halt_markets", "resume_markets", "set_cancel_only")
    fields = (
        "symbol",
        "base",
        "quote",
        "status",
        "tick_size",
        "lot_size",
        "min_notional",
        "maker_fee",
        "taker_fee",
        "price_source",
        "feed_symbol",
        "display_order",
        "created_at",
        "updated_at",
    )

    def get_readonly_fields(self, request: HttpRequest, obj: TradingPair | None = None) -> Any:
        if obj is None:
            return ("symbol", "created_at", "updated_at")
        return ("symbol", "base", "quote", "status", "created_at", "updated_at")

    def has_delete_permission(self, request: HttpRequest, obj: TradingPair | None = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: TradingPair, form: ModelForm, change: bool
    ) -> None:
        data = form.cleaned_data
        if change:
            changes = {
                name: data[name] for name in form.changed_data if name in PAIR_EDITABLE_FIELDS
            }
            pair_update(pair=obj, actor=request.user, **changes)  # type: ignore[arg-type]
            return
        created = pair_create(
            actor=request.user,  # type: ignore[arg-type]
            base=data["base"],
            quote=data["quote"],
            status=data["status"],
            **{name: data[name] for name in PAIR_EDITABLE_FIELDS},
        )
        obj.pk, obj.symbol = created.pk, created.symbol
        obj.created_at, obj.updated_at = created.created_at, created.updated_at
        obj._state.adding = False

    def _set_status(
        self, request: HttpRequest, queryset: QuerySet[TradingPair], status: str
    ) -> None:
        changed = []
        for pair in queryset.order_by("pk"):
            if pair.status != status:
                pair_set_status(
                    pair=pair,
                    status=status,
                    actor=request.user,  # type: ignore[arg-type]
                    reason="admin action",
                )
                changed.append(pair.symbol)
        label = TradingPair.Status(status).label
        if changed:
            self.message_user(request, f"{label}: {', '.join(changed)}.", messages.SUCCESS)
        else:
            self.message_user(request, f"Nothing to change: already {label}.", messages.INFO)

    @admin.action(description="Halt selected markets (refuse new orders)")
    def halt_markets(self, request: HttpRequest, queryset: QuerySet[TradingPair]) -> None:
        self._set_status(request, queryset, TradingPair.Status.HALTED)

    @admin.action(description="Resume selected markets (active)")
    def resume_markets(self, request: HttpRequest, queryset: QuerySet[TradingPair]) -> None:
        self._set_status(request, queryset, TradingPair.Status.ACTIVE)

    @admin.action(description="Set selected markets to cancel-only")
    def set_cancel_only(self, request: HttpRequest, queryset: QuerySet[TradingPair]) -> None:
        self._set_status(request, queryset, TradingPair.Status.CANCEL_ONLY)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Market data is written by settlement only."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Trade)
class TradeAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "pair",
        "sequence",
        "price_shown",
        "quantity_shown",
        "taker_side",
        "created_at",
    )
    price_shown = amount_column("price", lambda trade: trade.pair.price_places)
    quantity_shown = amount_column("quantity", lambda trade: trade.pair.quantity_places)
    list_filter = ("pair",)
    list_select_related = ("pair",)
    ordering = ("-id",)


@admin.register(Candle)
class CandleAdmin(ReadOnlyAdmin):
    list_display = (
        "pair",
        "interval",
        "bucket",
        "open_shown",
        "high_shown",
        "low_shown",
        "close_shown",
        "volume_shown",
        "trade_count",
    )
    open_shown = amount_column("open", lambda candle: candle.pair.price_places)
    high_shown = amount_column("high", lambda candle: candle.pair.price_places)
    low_shown = amount_column("low", lambda candle: candle.pair.price_places)
    close_shown = amount_column("close", lambda candle: candle.pair.price_places)
    volume_shown = amount_column("volume", lambda candle: candle.pair.quantity_places)
    list_filter = ("pair", "interval")
    list_select_related = ("pair",)
    ordering = ("-bucket",)
