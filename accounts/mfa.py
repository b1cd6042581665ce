"""TOTP one-time codes: every check of a code, for login and for sensitive operations
(MFA confirm/disable, withdrawals, closing the account), goes through ``otp_attempt``.

Two brakes apply to every code, on every entry point:
- django-otp's throttle on the device row: after a wrong code the device refuses any code for
  1, 2, 4, ... seconds. The refusal says so ("try again in N s", 429 with ``Retry-After``).
- a per-user counter in Redis (``accounts.ratelimit.otp_*``): after ``OTP_FAILURES_PER_USER``
  refused codes within ``OTP_FAILURE_WINDOW_SECONDS`` every code is refused with 429 until the
  window ends. Being outside the database, it survives the caller's transaction rolling back.

``otp_attempt`` checks the code in a transaction of its own, so the device's throttle and
last-used step commit even when the caller then fails; callers must not hold a transaction
around it (a rollback would undo the throttle; the Redis counter would still hold)."""

from __future__ import annotations

import math

from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import ratelimit
from accounts.models import User
from tradehive.errors import RateLimited, Unauthenticated


class MfaRequired(Unauthenticated):
    code = "mfa_required"
    default_message = "A valid one-time code from your authenticator app is required."


def mfa_enabled(user: User) -> bool:
    """True when the user has a confirmed TOTP device."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def otp_digits(otp: str | None) -> str | None:
    """The code stripped of surrounding blanks, or ``None`` when it is not all ASCII digits."""
    if not isinstance(otp, str):
        return None
    code = otp.strip()
    if not code or not code.isascii() or not code.isdigit():
        return None
    return code


def _throttle_seconds(device: TOTPDevice) -> int:
    """Seconds until django-otp lets ``device`` check a code again (0: it may now)."""
    allowed, details = device.verify_is_allowed()
    if allowed:
        return 0
    locked_until = (details or {}).get("locked_until")
    if locked_until is None:
        return 1
    return max(1, math.ceil((locked_until - timezone.now()).total_seconds()))


def otp_attempt(*, user: User, otp: str | None, confirmed: bool = True) -> TOTPDevice | None:
    """Check ``otp`` against the user's confirmed devices (``confirmed=False``: the newest
    unconfirmed one, being set up). The device that accepted it when it is a valid, unused
    code, else ``None``.

    Raises ``RateLimited`` (429, ``Retry-After``) while the user's codes are locked out, and
    when a code arrives while the device's throttle runs (the code is then not looked at). A
    wrong, replayed or throttled code counts towards the lockout; a missing or non-numeric one
    is just ``None``. django-otp refuses a code at or before the last one used, and the device rows
    are locked while checking, so two requests racing with one code cannot both see it unused.
    Must be called outside any transaction (module docstring)."""
    ratelimit.otp_throttle_check(user_id=user.pk)
    code = otp_digits(otp)
    if code is None:
        return None
    with transaction.atomic():
        devices = list(
            TOTPDevice.objects.select_for_update()
            .filter(user=user, confirmed=confirmed)
            .order_by("pk")
        )
        if not confirmed:
            devices = devices[-1:]
        wait = max((_throttle_seconds(device) for device in devices), default=0)
        if wait == 0:
            for device in devices:
                if device.verify_token(code):
                    return device
    ratelimit.otp_failure_note(user_id=user.pk)
    if wait:
        raise RateLimited(f"Too many attempts; try again in {wait} s.", retry_after=wait)
    return None


def mfa_check(*, user: User, otp: str | None) -> None:
    """Raise ``MfaRequired`` (401 ``mfa_required``) when the user has MFA and ``otp`` is not valid,
    ``RateLimited`` as ``otp_attempt``. A no-op for users without MFA. Call outside any
    transaction."""
    if mfa_enabled(user) and otp_attempt(user=user, otp=otp) is None:
        raise MfaRequired()
