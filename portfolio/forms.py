"""The portfolio page's one input: the date profit and loss is counted from."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django import forms
from django.utils import timezone

# The quick choices next to the date field: (days back, label).
PRESETS = [(1, "24 hours"), (7, "7 days"), (30, "30 days"), (90, "90 days"), (365, "1 year")]
DEFAULT_DAYS = 30


class SinceForm(forms.Form):
    since = forms.DateField(
        label="Profit and loss since (UTC)",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    days = forms.TypedChoiceField(
        choices=[(str(d), label) for d, label in PRESETS], coerce=int, required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "pnl-%s")
        super().__init__(*args, **kwargs)

    def clean_since(self) -> date | None:
        since: date | None = self.cleaned_data.get("since")
        if since is not None and since > timezone.now().date():
            raise forms.ValidationError("Choose a day that has begun.")
        if since is not None and since.year < 2000:
            raise forms.ValidationError("Choose a day after 2000.")
        return since

    def moment(self) -> datetime:
        """Where to count from: the chosen day's start (UTC), else ``days`` back from now,
        else the default 30 days (call ``is_valid`` first; an invalid form gives the default)."""
        data = self.cleaned_data if self.is_valid() else {}
        if data.get("since"):
            return datetime.combine(data["since"], time.min, tzinfo=UTC)
        return timezone.now() - timedelta(days=data.get("days") or DEFAULT_DAYS)
