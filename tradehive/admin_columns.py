"""Money columns of admin change lists: a value at the precision of its asset or market with
thousands grouped (``format_amount``), not the column's 18 stored decimals."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.contrib import admin

from tradehive.money import format_amount


def amount_column(
    field: str, places: Callable[[Any], int], *, description: str | None = None
) -> Callable[[admin.ModelAdmin, Any], str]:
    """A ``ModelAdmin`` method (assign it in the class body, name it in ``list_display``)
    showing ``obj.<field>`` at ``places(obj)`` decimals, sorted by the field; an empty value
    shows as "-". ``places`` reads what the change list already joins
    (``list_select_related``)."""

    @admin.display(description=description or field.replace("_", " "), ordering=field)
    def column(model_admin: admin.ModelAdmin, obj: Any) -> str:
        value = getattr(obj, field)
        if value is None:
            return "-"
        return format_amount(Decimal(value), places(obj))

    column.__name__ = f"{field}_shown"
    return column
