"""Forms of the wallet page. They only parse input; the services validate and decide."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from tradehive.money import DecimalParseError, parse_typed_amount
from wallets.selectors import asset_list_active


class AmountField(forms.CharField):
    """An amount typed in a form: the API's one decimal grammar, also with thousands grouped
    by commas as people write them (``parse_typed_amount``: "1,000"; the order form's script
    follows the same rule). Text with spaces around it is refused here as it is in JSON, not
    trimmed into a different request."""

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("strip", False)
        super().__init__(**kwargs)  # type: ignore[arg-type]

    def clean(self, value: object) -> Decimal:  # type: ignore[override]
        text = super().clean(value)
        try:
            return parse_typed_amount(text)
        except DecimalParseError as exc:
            raise forms.ValidationError(str(exc)) from None


class AssetChoiceField(forms.ChoiceField):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(choices=self._choices_now, **kwargs)  # type: ignore[arg-type]

    @staticmethod
    def _choices_now() -> list[tuple[str, str]]:
        return [(a.symbol, f"{a.symbol} · {a.name}") for a in asset_list_active()]


class DepositForm(forms.Form):
    """Its ids are ``deposit-<field>`` (the withdrawal form shares the page and field names)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("auto_id", "deposit-%s")
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    asset = AssetChoiceField()
    amount = AmountField(max_length=60, widget=forms.TextInput(attrs={"inputmode": "decimal"}))


class WithdrawalForm(forms.Form):
    """Its ids are ``withdraw-<field>`` (see ``DepositForm``)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("auto_id", "withdraw-%s")
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        # The page says the chosen asset's fee, minimum and address format under these.
        for name in ("amount", "address"):
            self.fields[name].widget.attrs["aria-describedby"] = f"withdraw-{name}-help"

    asset = AssetChoiceField()
    amount = AmountField(max_length=60, widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    address = forms.CharField(max_length=200)
    otp = forms.CharField(
        label="One-time code",
        max_length=12,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )
