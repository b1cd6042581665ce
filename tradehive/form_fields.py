"""Django form fields of money, for the admin's model forms: the API's one decimal grammar
(``tradehive.money.parse_decimal``) instead of ``forms.DecimalField``'s, which trims whitespace
and reads exponents and other scripts' digits (``Decimal("1\\u0660\\u0660") == 100``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.db import models

from tradehive.money import DecimalParseError, parse_decimal


class DecimalTextField(forms.DecimalField):
    """A ``forms.DecimalField`` (max_digits, decimal_places and bounds still checked) that reads
    ``[0-9]+(\\.[0-9]+)?`` only; zero is allowed (fees, minimums)."""

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override] # stubs: int
        if value in self.empty_values:
            return None
        if isinstance(value, Decimal):
            return value
        try:
            return parse_decimal(value, allow_zero=True)
        except DecimalParseError as exc:
            raise forms.ValidationError(str(exc), code="invalid") from None


# ``ModelAdmin.formfield_overrides``: every model DecimalField of the form reads strictly.
STRICT_DECIMAL_OVERRIDES: dict[Any, dict[str, Any]] = {
    models.DecimalField: {"form_class": DecimalTextField},
}
