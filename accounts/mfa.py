"""TOTP multi-factor checks used by login and by sensitive operations (withdrawals, deletion)."""

from __future__ import annotations

from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from tradehive.errors import Unauthenticated


class MfaRequired(Unauthenticated):
    code = "mfa_required"
    default_message = "A valid one-time code from your authenticator app is required."


def mfa_enabled(user: User) -> bool:
    """True when the user has a confirmed TOTP device."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def mfa_verify(*, user: User, otp: str | None) -> bool:
    """True when ``otp`` is a valid, unused code of one of the user's confirmed devices.

    django-otp's TOTP device refuses a code at or before the last one used, so a code cannot
    be replayed. The device rows are locked while checking, so two requests racing with one
    code cannot both see it unused."""
    if not otp or not isinstance(otp, str) or not otp.strip().isdigit():
        return False
    with transaction.atomic():
        devices = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True)
        return any(device.verify_token(otp.strip()) for device in devices.order_by("pk"))


def mfa_check(*, user: User, otp: str | None) -> None:
    """Raise ``MfaRequired`` (401 ``mfa_required``) when the user has MFA and ``otp`` is not valid.

    A no-op for users without MFA."""
    if mfa_enabled(user) and not mfa_verify(user=user, otp=otp):
        raise MfaRequired()
