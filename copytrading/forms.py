"""Forms of the copy-trading pages. They only parse input; the services validate and decide.
Rates are typed as percentages (10 for 10 %), as people say them."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from copytrading.models import Subscription
from wallets.forms import AmountField


class PercentField(AmountField):
    """A percentage typed as a number (``10`` = 10 %), cleaned to a fraction (0.1)."""

    def clean(self, value: object) -> Decimal:  # type: ignore[override]
        return super().clean(value) / 100


class OptionalAmountField(AmountField):
    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def clean(self, value: object) -> Decimal | None:  # type: ignore[override]
        if value in (None, ""):
            return None
        return super().clean(value)


class OptionalPercentField(PercentField):
    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def clean(self, value: object) -> Decimal | None:  # type: ignore[override]
        if value in (None, ""):
            return None
        return super().clean(value)


class LeadForm(forms.Form):
    prefix = "lead"
    profit_share_pct = PercentField(label="Profit share (%)", initial="10")
    min_copy_amount = AmountField(label="Minimum copy amount", initial="0")
    max_followers = forms.IntegerField(label="Most followers", min_value=1, initial=1000)


class FollowForm(forms.Form):
    prefix = "follow"
    amount = AmountField(label="Amount to allocate")
    mode = forms.ChoiceField(
        choices=[
            (Subscription.Mode.FIXED_RATIO, "Fixed ratio: copies sized like the trader's"),
            (Subscription.Mode.FIXED_AMOUNT, "Fixed amount per buy"),
        ],
        initial=Subscription.Mode.FIXED_RATIO,
    )
    fixed_amount = OptionalAmountField(label="Amount per buy (fixed amount mode)")
    max_order_quote = OptionalAmountField(label="Largest copy (optional)")
    stop_loss_pct = OptionalPercentField(label="Stop-loss: stop when down by (%, optional)")
    markets = forms.MultipleChoiceField(
        required=False,
        label="Only these markets (none selected: all)",
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: object, markets: list[str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["markets"].choices = [(m, m) for m in markets]  # type: ignore[attr-defined]


class MoveForm(forms.Form):
    amount = AmountField(label="Amount")
