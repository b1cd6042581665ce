"""The Orders page's filters: parsed here, applied by the selectors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django import forms

from markets.selectors import pair_list
from orders.models import OrderStatus, Side

TABS = [("open", "Open orders"), ("history", "Order history"), ("fills", "Fills")]


@dataclass(frozen=True)
class OrderFilters:
    """What the page shows: a tab, and the rows' market, side, status and UTC days."""

    tab: str = "open"
    symbol: str | None = None
    side: str | None = None
    status: str | None = None
    created_from: datetime | None = None
    created_before: datetime | None = None


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


class OrderFilterForm(forms.Form):
    tab = forms.ChoiceField(choices=TABS, required=False)
    market = forms.ChoiceField(required=False)
    side = forms.ChoiceField(choices=[("", "Buy and sell"), *Side.choices], required=False)
    status = forms.ChoiceField(
        choices=[
            ("", "Any end"),
            (OrderStatus.FILLED, "Filled"),
            (OrderStatus.CANCELLED, "Cancelled"),
            (OrderStatus.REJECTED, "Rejected"),
        ],
        required=False,
        help_text="Order history only.",
    )
    date_from = forms.DateField(
        label="From (UTC)", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="To (UTC)", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "filter-%s")
        super().__init__(*args, **kwargs)
        markets = [(p.symbol, f"{p.base.symbol}/{p.quote.symbol}") for p in pair_list()]
        market = self.fields["market"]
        assert isinstance(market, forms.ChoiceField)
        market.choices = [("", "All markets"), *markets]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "Must not be before the start date.")
        return data

    def filters(self) -> OrderFilters:
        """The filters of a valid form (call ``is_valid`` first)."""
        data = self.cleaned_data
        start: date | None = data.get("date_from")
        end: date | None = data.get("date_to")
        return OrderFilters(
            tab=data.get("tab") or "open",
            symbol=data.get("market") or None,
            side=data.get("side") or None,
            status=data.get("status") or None,
            created_from=_day_start(start) if start else None,
            created_before=_day_start(end + timedelta(days=1)) if end else None,
        )
