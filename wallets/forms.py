"""Forms of the wallet page. They only parse input; the services validate and decide."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from tradehive.money import DecimalParseError, parse_decimal
from wallets.selectors import asset_list_active


class AmountField(forms.CharField):
    """An amount typed in a form: the API's one decimal grammar (``parse_decimal``), so text
    with spaces around it is refused here as it is in JSON, not trimmed into a different
    request."""

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("strip", False)
        super().__init__(**kwargs)  # type: ignore[arg-type]

    def clean(self, value: object) -> Decimal:  # type: ignore[override]
        text = super().clean(value)
        try:
            return parse_decimal(text)
        except DecimalParseError as exc:
            raise forms.ValidationError(str(exc)) from None


class AssetChoiceField(forms.ChoiceField):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(choices=self._choices_now, **kwargs)  # type: ignore[arg-type]

    @staticmethod
    def _choices_now() -> list[tuple[str, str]]:
        return [(a.symbol, f"{a.symbol} · {a.name}") for a in asset_list_active()]


class DepositForm(forms.Form):
    asset = AssetChoiceField()
    amount = AmountField(max_length=60, widget=forms.TextInput(attrs={"inputmode": "decimal"}))


class WithdrawalForm(forms.Form):
    asset = AssetChoiceField()
    amount = AmountField(max_length=60, widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    address = forms.CharField(max_length=200)
    otp = forms.CharField(
        label="One-time code",
        max_length=12,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )
