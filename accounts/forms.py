"""Web forms. They only parse input; the services in ``accounts.services`` decide."""

from __future__ import annotations

from django import forms

from tradehive.errors import DomainError


def form_error_apply(form: forms.Form, exc: DomainError) -> None:
    """Show a service's error on the form: per-field messages where it named fields."""
    if not exc.fields:
        form.add_error(None, exc.message)
        return
    for name, messages in exc.fields.items():
        for message in messages:
            form.add_error(name if name in form.fields else None, message)


class SignupForm(forms.Form):
    username = forms.CharField(max_length=30, help_text="3-30 letters, digits or underscores.")
    email = forms.EmailField(max_length=254)
    password = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        max_length=128,
        strip=False,
        help_text="At least 10 characters.",
    )


class LoginForm(forms.Form):
    """Step 1 of signing in; accounts with MFA then get ``OtpForm`` (step 2)."""

    username = forms.CharField(
        max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username"})
    )
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        max_length=128,
        strip=False,
    )


class ProfileForm(forms.Form):
    email = forms.EmailField(max_length=254)
    handle = forms.CharField(max_length=30, help_text="Your public name in rankings.")
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    rankings_opt_in = forms.BooleanField(
        label="Show me in the public rankings",
        required=False,
        help_text="Your handle, returns and asset mix in %, never your balances.",
    )


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(
        label="Current password", widget=forms.PasswordInput, max_length=128, strip=False
    )
    new_password = forms.CharField(
        label="New password", widget=forms.PasswordInput, max_length=128, strip=False
    )


class OtpForm(forms.Form):
    otp = forms.CharField(
        label="Authenticator code",
        max_length=12,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9]*"}
        ),
    )


class DeleteAccountForm(forms.Form):
    password = forms.CharField(widget=forms.PasswordInput, max_length=128, strip=False)
    otp = forms.CharField(
        label="Authenticator code",
        required=False,
        max_length=12,
        help_text="Needed when two-factor authentication is on.",
    )
    confirm = forms.BooleanField(label="I understand that closing the account cannot be undone.")


class ApiKeyForm(forms.Form):
    """A new API key (``accounts.api_keys.api_key_create`` checks everything that matters).
    Prefixed: the account page holds several forms, and their ids must not collide."""

    PREFIX = "key"

    EXPIRY_CHOICES = [
        ("", "Never"),
        ("30", "In 30 days"),
        ("90", "In 90 days"),
        ("365", "In a year"),
    ]

    label = forms.CharField(max_length=64, help_text="To tell your keys apart, e.g. 'grid bot'.")
    permissions = forms.MultipleChoiceField(
        choices=[("trade", "Trade"), ("withdraw", "Withdraw")],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Every key can read. Withdraw needs two-factor authentication and addresses.",
    )
    ip_allowlist = forms.CharField(
        label="Allowed addresses",
        required=False,
        max_length=1500,
        help_text="IP addresses or networks (CIDR), separated by spaces or commas; empty: any.",
    )
    expires_in = forms.ChoiceField(label="Expires", choices=EXPIRY_CHOICES, required=False)
    otp = forms.CharField(
        label="Authenticator code",
        required=False,
        max_length=12,
        help_text="Needed when two-factor authentication is on.",
    )

    def clean_ip_allowlist(self) -> list[str]:
        return self.cleaned_data["ip_allowlist"].replace(",", " ").split()
