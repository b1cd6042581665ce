"""Account writes: registration, sign-in, tokens, profile, password, MFA, closing an account.

Every function here is the one place its operation happens; the REST views (``apis``), the web
views (``views``) and the admin call them. Errors are domain errors (``accounts.errors``,
``accounts.mfa.MfaRequired``, ``tradehive.errors``) carrying the API code."""

from __future__ import annotations

import re
import secrets
import time
from base64 import b32encode
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import update_last_login
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework_simplejwt.exceptions import TokenBackendError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.state import token_backend
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import get_md5_hash_password

from accounts import ratelimit
from accounts.audit import audit_record
from accounts.errors import (
    AuthenticationFailed,
    LoginExpired,
    MfaAlreadyEnabled,
    MfaNotEnabled,
    MfaNotSetUp,
    OtpInvalid,
    TokenNotValid,
)
from accounts.mfa import MfaRequired, mfa_check, mfa_enabled, otp_attempt
from accounts.models import HANDLE_PATTERN, User, handle_validator
from accounts.signals import account_closing
from tradehive.client_ip import client_ip
from tradehive.errors import InvalidInput, RateLimited

# Usernames follow the handle rule, so a username can always serve as the public handle.
NAME_RULE = re.compile(HANDLE_PATTERN)
NAME_RULE_MESSAGE = str(handle_validator.message)
# Closed accounts are renamed ``closed_<id>``; nobody else may take such a name.
RESERVED_PREFIX = "closed_"


def _name_problem(name: str) -> str | None:
    if not NAME_RULE.match(name):
        return NAME_RULE_MESSAGE
    if name.lower().startswith(RESERVED_PREFIX):
        return f"Names starting with {RESERVED_PREFIX!r} are reserved."
    return None


class TokenPair(TypedDict):
    access: str
    refresh: str


@dataclass(frozen=True)
class MfaEnrollment:
    otpauth_url: str
    qr_svg: str
    secret: str  # base32, for typing into an app that cannot scan


# --- users -----------------------------------------------------------------------------------


@transaction.atomic
def user_create(
    *,
    username: str,
    email: str,
    password: str,
    handle: str | None = None,
    is_staff: bool = False,
    is_superuser: bool = False,
    is_bot: bool = False,
) -> User:
    """Create a user; ``handle`` defaults to the username. Caller validated the password."""
    user = User(
        username=username,
        email=email.lower(),
        handle=handle or username,
        is_staff=is_staff,
        is_superuser=is_superuser,
        is_bot=is_bot,
    )
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    return user


def _names_taken(
    *,
    username: str | None = None,
    email: str | None = None,
    handle: str | None = None,
    exclude_pk: int | None = None,
) -> dict[str, list[str]]:
    """Field errors for names another user already has (compared ignoring case)."""
    others = User.objects.all()
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    errors: dict[str, list[str]] = {}
    if username is not None and others.filter(username__iexact=username).exists():
        errors["username"] = ["This username is taken."]
    if email is not None and others.filter(email__iexact=email).exists():
        errors["email"] = ["An account with this email address exists."]
    if handle is not None and others.filter(handle__iexact=handle).exists():
        errors["handle"] = ["This handle is taken."]
    return errors


def _password_errors(password: str, user: User) -> list[str]:
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        return list(exc.messages)
    return []


def user_register(
    *,
    username: str,
    email: str,
    password: str,
    handle: str | None = None,
    request: HttpRequest | None = None,
) -> User:
    """Open an account. Usernames and handles follow the handle rule (3-30 letters, digits, _),
    so a username can always be the public handle. Raises ``InvalidInput`` with field errors,
    429 past the per-address hourly limit."""
    ratelimit.registration_throttle_hit(ip=client_ip(request))
    email = email.strip().lower()
    handle = handle or username
    errors: dict[str, list[str]] = {}
    if problem := _name_problem(username):
        errors["username"] = [problem]
    if problem := _name_problem(handle):
        errors["handle"] = [problem]
    for name, messages in _names_taken(username=username, email=email, handle=handle).items():
        errors.setdefault(name, messages)
    if problems := _password_errors(password, User(username=username, email=email)):
        errors["password"] = problems
    if errors:
        raise InvalidInput(fields=errors)
    try:
        return user_create(username=username, email=email, password=password, handle=handle)
    except (IntegrityError, ValidationError) as exc:
        # A concurrent registration took a name between the check and the insert.
        raise InvalidInput("This username, email address or handle is taken.") from exc


@transaction.atomic
def user_update(
    *,
    user: User,
    email: str | None = None,
    handle: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
) -> User:
    """Change profile fields; ``None`` leaves a field as it is."""
    changes: dict[str, str] = {}
    if email is not None:
        changes["email"] = email.strip().lower()
    if handle is not None:
        if problem := _name_problem(handle):
            raise InvalidInput(fields={"handle": [problem]})
        changes["handle"] = handle
    if first_name is not None:
        changes["first_name"] = first_name.strip()
    if last_name is not None:
        changes["last_name"] = last_name.strip()
    errors = _names_taken(
        email=changes.get("email"), handle=changes.get("handle"), exclude_pk=user.pk
    )
    if errors:
        raise InvalidInput(fields=errors)
    for name, value in changes.items():
        setattr(user, name, value)
    if changes:
        try:
            with transaction.atomic():
                user.save(update_fields=list(changes))
        except IntegrityError as exc:
            user.refresh_from_db()
            raise InvalidInput("This email address or handle is taken.") from exc
    return user


def user_rankings_opt_in_set(*, user: User, opt_in: bool) -> User:
    """Choose whether ``user`` appears in the public rankings and has a public profile
    (docs/rankings.md). Takes effect at the next rankings refresh (profiles at once)."""
    if user.rankings_opt_in != opt_in:
        user.rankings_opt_in = opt_in
        user.save(update_fields=["rankings_opt_in"])
    return user


def users_rankings_exclude_set(*, users: QuerySet[User], excluded: bool) -> int:
    """An admin keeps accounts out of (or lets them back into) the public rankings; returns
    how many changed."""
    return users.exclude(rankings_excluded=excluded).update(rankings_excluded=excluded)


# --- signing in --------------------------------------------------------------------------------

# A browser that passed the password step of an MFA account has this long, and this many codes,
# to finish signing in; then the password is asked again. Overridable in settings (tests use 0).
LOGIN_OTP_STEP_SECONDS = 5 * 60
LOGIN_OTP_ATTEMPTS = 3
PENDING_LOGIN_SESSION_KEY = "accounts.pending_login"


@dataclass(frozen=True)
class SessionLoginStart:
    """The outcome of the password step. ``otp_needed``: the user has MFA and the browser must
    now send a code to ``session_login_finish``; otherwise ``user`` may be logged in."""

    user: User
    otp_needed: bool


def _password_authenticate(*, username: str, password: str, request: HttpRequest | None) -> User:
    """The password half of a sign-in: lockout check, password check, failures counted and
    audited. Does not look at MFA and records no success."""
    ip = client_ip(request)
    try:
        ratelimit.login_throttle_check(username=username, ip=ip)
    except RateLimited:
        audit_record(event="login.locked", request=request, username=username[:150])
        raise
    # Names are unique ignoring case, so "Alice" signs in as "alice".
    known = User.objects.filter(username__iexact=username).first()
    user = authenticate(request, username=known.username if known else username, password=password)
    if user is None:
        ratelimit.login_failure_note(username=username, ip=ip)
        audit_record(
            event="login.failed",
            user=known,
            request=request,
            username=username[:150],
            reason="password",
        )
        raise AuthenticationFailed()
    assert isinstance(user, User)
    return user


def _otp_authenticate(
    *, user: User, otp: str | None, request: HttpRequest | None, **details: Any
) -> None:
    """The code half of a sign-in (a no-op without MFA). A wrong or replayed code counts as a
    failed login as well as a refused code (``accounts.mfa``), so codes cannot be guessed faster
    than passwords; 429 while codes are locked out or the device's throttle runs."""
    try:
        mfa_check(user=user, otp=otp)
    except MfaRequired:
        ratelimit.login_failure_note(username=user.username, ip=client_ip(request))
        audit_record(
            event="login.failed",
            user=user,
            request=request,
            reason="otp",
            otp_given=bool(otp),
            **details,
        )
        raise
    except RateLimited:
        audit_record(
            event="login.locked",
            user=user,
            request=request,
            username=user.username,
            reason="otp",
            **details,
        )
        raise


def _login_succeeded(*, user: User, request: HttpRequest | None, **details: Any) -> None:
    ratelimit.login_failures_clear(username=user.username)
    update_last_login(User, user)
    audit_record(event="login.ok", user=user, request=request, **details)


def user_login(
    *, username: str, password: str, otp: str | None, request: HttpRequest | None = None
) -> User:
    """Check a password and, when the user has MFA, the one-time code in one go (REST tokens).

    Refused with 429 while the account or the address is locked out (``accounts.ratelimit``);
    401 ``authentication_failed`` for a wrong password, unknown or closed account; 401
    ``mfa_required`` for a missing or wrong code. A wrong code counts as a failure, so codes
    cannot be guessed either. Every outcome is audited."""
    user = _password_authenticate(username=username, password=password, request=request)
    _otp_authenticate(user=user, otp=otp, request=request)
    _login_succeeded(user=user, request=request)
    return user


def _pending_login_drop(request: HttpRequest) -> None:
    request.session.pop(PENDING_LOGIN_SESSION_KEY, None)


def session_login_start(*, username: str, password: str, request: HttpRequest) -> SessionLoginStart:
    """Step 1 of a browser sign-in: the password.

    Without MFA the sign-in is complete (``login.ok`` audited). With MFA nobody is logged in
    yet: the half-authenticated user is remembered in ``request.session`` for
    ``LOGIN_OTP_STEP_SECONDS`` and ``LOGIN_OTP_ATTEMPTS`` codes, bound to the password hash
    (a password change in between voids it). Errors as ``user_login``."""
    _pending_login_drop(request)
    user = _password_authenticate(username=username, password=password, request=request)
    if not mfa_enabled(user):
        _login_succeeded(user=user, request=request)
        return SessionLoginStart(user=user, otp_needed=False)
    seconds = getattr(settings, "LOGIN_OTP_STEP_SECONDS", LOGIN_OTP_STEP_SECONDS)
    request.session[PENDING_LOGIN_SESSION_KEY] = {
        "user_id": user.pk,
        # authenticate() named the backend that accepted the password; login() needs it.
        "backend": getattr(user, "backend", settings.AUTHENTICATION_BACKENDS[0]),
        "auth_hash": user.get_session_auth_hash(),
        "expires_at": time.time() + seconds,
        "attempts_left": getattr(settings, "LOGIN_OTP_ATTEMPTS", LOGIN_OTP_ATTEMPTS),
    }
    return SessionLoginStart(user=user, otp_needed=True)


def session_login_pending(*, request: HttpRequest) -> User | None:
    """The user waiting for step 2 in this browser, or ``None`` (and the stale state dropped)
    when there is none, it expired, or the account changed since step 1."""
    state = request.session.get(PENDING_LOGIN_SESSION_KEY)
    if not isinstance(state, dict) or time.time() >= state["expires_at"]:
        _pending_login_drop(request)
        return None
    user = User.objects.filter(pk=int(state["user_id"]), is_active=True).first()
    if user is None or not constant_time_compare(user.get_session_auth_hash(), state["auth_hash"]):
        _pending_login_drop(request)
        return None
    user.backend = state["backend"]  # type: ignore[attr-defined]  # what login() reads
    return user


def session_login_finish(*, otp: str | None, request: HttpRequest) -> User:
    """Step 2 of a browser sign-in: the one-time code. Returns the user for ``login()``.

    401 ``login_expired`` without a live step 1 (never started, timed out, account changed) or
    when this code used up the attempts; 401 ``mfa_required`` for a wrong or replayed code with
    attempts left; 429 while locked out, or (step 1 kept) while the device's throttle runs after
    a wrong code. Every wrong code also counts towards the lockouts of ``accounts.ratelimit``,
    which bound guessing across restarts of step 1."""
    user = session_login_pending(request=request)
    if user is None:
        raise LoginExpired()
    ip = client_ip(request)
    try:
        ratelimit.login_throttle_check(username=user.username, ip=ip)
    except RateLimited:
        _pending_login_drop(request)
        audit_record(event="login.locked", user=user, request=request, username=user.username)
        raise
    state = request.session[PENDING_LOGIN_SESSION_KEY]
    try:
        _otp_authenticate(user=user, otp=otp, request=request, step="otp")
    except MfaRequired as exc:
        attempts_left = int(state["attempts_left"]) - 1
        if attempts_left <= 0:
            _pending_login_drop(request)
            raise LoginExpired("Too many wrong codes; enter your password again.") from exc
        request.session[PENDING_LOGIN_SESSION_KEY] = {**state, "attempts_left": attempts_left}
        raise MfaRequired(
            fields={
                "otp": [
                    f"The code is not valid or was already used; {attempts_left} "
                    f"{'attempt' if attempts_left == 1 else 'attempts'} left."
                ]
            }
        ) from exc
    _pending_login_drop(request)
    _login_succeeded(user=user, request=request, mfa=True)
    return user


def _password_confirm(
    *, user: User, password: str, field: str, request: HttpRequest | None
) -> None:
    """Re-check the password of a signed-in user before a sensitive change. Failures count
    towards the login lockout, so a stolen token cannot be used to guess the password."""
    ip = client_ip(request)
    ratelimit.login_throttle_check(username=user.username, ip=ip)
    if not user.check_password(password):
        ratelimit.login_failure_note(username=user.username, ip=ip)
        audit_record(event="login.failed", user=user, request=request, reason=field)
        raise InvalidInput(fields={field: ["The password is not correct."]})


# --- tokens ------------------------------------------------------------------------------------


def token_pair_issue(*, user: User) -> TokenPair:
    """A new access + refresh token for ``user`` (the refresh token is recorded as outstanding,
    so it can be rotated, revoked and recognised when reused)."""
    refresh = RefreshToken.for_user(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def _refresh_payload(raw: str) -> dict:
    try:
        payload = token_backend.decode(raw, verify=True)  # type: ignore[arg-type]  # stubs: str
    except TokenBackendError as exc:
        raise TokenNotValid() from exc
    if payload.get(jwt_settings.TOKEN_TYPE_CLAIM) != "refresh" or not payload.get("jti"):
        raise TokenNotValid("This is not a refresh token.")
    return payload


def token_refresh(*, refresh: str, request: HttpRequest | None = None) -> TokenPair:
    """Rotate a refresh token: the presented one is blacklisted and a new pair returned.

    Presenting a refresh token that was already rotated or revoked means it leaked (or a client
    raced itself): every refresh token of that user is revoked and ``token.refresh_reuse`` is
    audited, then 401 ``token_not_valid``. The outstanding row is locked, so two concurrent
    refreshes of one token cannot both succeed."""
    payload = _refresh_payload(refresh)
    with transaction.atomic():
        outstanding = (
            OutstandingToken.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(jti=payload["jti"])
            .first()
        )
        if outstanding is None or outstanding.user is None:
            raise TokenNotValid()
        user = outstanding.user
        reused = BlacklistedToken.objects.filter(token=outstanding).exists()
        if reused:
            revoked = tokens_revoke_all(user=user)
            audit_record(
                event="token.refresh_reuse",
                user=user,
                request=request,
                jti=payload["jti"],
                revoked=revoked,
            )
        else:
            password_claim = payload.get(jwt_settings.REVOKE_TOKEN_CLAIM)
            if not user.is_active or (
                jwt_settings.CHECK_REVOKE_TOKEN
                and password_claim != get_md5_hash_password(user.password)
            ):
                raise TokenNotValid()
            BlacklistedToken.objects.create(token=outstanding)
            pair = token_pair_issue(user=user)
    if reused:  # raised after the revocation committed
        raise TokenNotValid(
            "This refresh token was already used; every session of this "
            "account has been signed out."
        )
    return pair


def token_revoke(*, refresh: str, request: HttpRequest | None = None) -> None:
    """Log out a REST client: blacklist its refresh token (idempotent). Its access token stays
    valid until it expires (``JWT_ACCESS_MINUTES``)."""
    payload = _refresh_payload(refresh)
    outstanding = OutstandingToken.objects.select_related("user").filter(jti=payload["jti"]).first()
    if outstanding is None:
        raise TokenNotValid()
    _, created = BlacklistedToken.objects.get_or_create(token=outstanding)
    if created:
        audit_record(event="logout", user=outstanding.user, request=request, via="token")


def tokens_revoke_all(*, user: User) -> int:
    """Blacklist every refresh token of ``user`` still outstanding; the number revoked."""
    pending = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
    rows = [BlacklistedToken(token=token) for token in pending]
    BlacklistedToken.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


# --- password ------------------------------------------------------------------------------------


def password_change(
    *, user: User, old_password: str, new_password: str, request: HttpRequest | None = None
) -> None:
    """Set a new password. Every refresh token is revoked; access tokens and browser sessions
    issued before stop working because both are bound to the password hash (the caller keeps
    its own browser session with ``update_session_auth_hash``)."""
    _password_confirm(user=user, password=old_password, field="old_password", request=request)
    if problems := _password_errors(new_password, user):
        raise InvalidInput(fields={"new_password": problems})
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        revoked = tokens_revoke_all(user=user)
        audit_record(event="password.changed", user=user, request=request, tokens_revoked=revoked)


# --- MFA -----------------------------------------------------------------------------------------


def _enrollment(device: TOTPDevice) -> MfaEnrollment:
    url = device.config_url
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    return MfaEnrollment(
        otpauth_url=url,
        qr_svg=image.to_string(encoding="unicode"),
        secret=b32encode(device.bin_key).decode().rstrip("="),
    )


@transaction.atomic
def mfa_setup(*, user: User, restart: bool = False) -> MfaEnrollment:
    """Start TOTP enrolment, or show the one under way: the unconfirmed device and its secret
    stay until ``mfa_confirm`` confirms it or the user asks to start over (``restart``: a new
    secret replaces it). So a mistyped code, a reload or a retried request never changes the
    secret the app was given. MFA is not required until ``mfa_confirm``."""
    if mfa_enabled(user):
        raise MfaAlreadyEnabled()
    pending = TOTPDevice.objects.filter(user=user, confirmed=False)
    if not restart and (device := pending.order_by("-id").first()) is not None:
        return _enrollment(device)
    pending.delete()
    return _enrollment(TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False))


def mfa_enrollment_pending(*, user: User) -> MfaEnrollment | None:
    """The enrolment under way (``mfa_setup`` done, not confirmed), or ``None``."""
    if mfa_enabled(user):
        return None
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    return None if device is None else _enrollment(device)


def mfa_confirm(*, user: User, otp: str | None, request: HttpRequest | None = None) -> None:
    """Confirm the device from ``mfa_setup`` with a code from the app; MFA is on from now.

    400 ``otp_invalid`` for a wrong code (the device and its secret stay for the next try), 429
    while codes are locked out or throttled (``accounts.mfa.otp_attempt``)."""
    if mfa_enabled(user):
        raise MfaAlreadyEnabled()
    if not TOTPDevice.objects.filter(user=user, confirmed=False).exists():
        raise MfaNotSetUp()
    checked = otp_attempt(user=user, otp=otp, confirmed=False)
    if checked is None:
        raise OtpInvalid(
            fields={
                "otp": [
                    "The code does not match; check the clock of the "
                    "device and type the current code."
                ]
            }
        )
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update().filter(pk=checked.pk, confirmed=False).first()
        )
        if device is None:  # replaced or confirmed by a concurrent request
            raise MfaNotSetUp()
        TOTPDevice.objects.filter(user=user, confirmed=False).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        audit_record(event="mfa.enabled", user=user, request=request)


def mfa_disable(*, user: User, otp: str | None, request: HttpRequest | None = None) -> None:
    """Turn MFA off; needs a current code (401 ``mfa_required`` otherwise, 429 while codes are
    locked out or throttled). The code is checked before, and outside, the deleting
    transaction, so a refused code stays counted."""
    if not mfa_enabled(user):
        raise MfaNotEnabled()
    mfa_check(user=user, otp=otp)
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        audit_record(event="mfa.disabled", user=user, request=request)


@transaction.atomic
def mfa_reset(*, user: User, actor: User, request: HttpRequest | None = None) -> None:
    """An admin removes a user's devices (lost phone); audited with the admin as actor."""
    deleted, _ = TOTPDevice.objects.filter(user=user).delete()
    audit_record(
        event="mfa.reset_by_admin", user=user, actor=actor, request=request, devices=deleted
    )


# --- closing accounts ------------------------------------------------------------------------


def _close(*, user: User) -> None:
    """Deactivate and anonymise ``user``. The row stays: ledger entries, orders and trades keep
    pointing at it. Caller holds the transaction."""
    account_closing.send(sender=User, user=user)
    user.is_active = False
    user.set_unusable_password()
    user.email = f"closed-{user.pk}@closed.invalid"
    user.username = f"closed_{user.pk}"
    user.handle = f"closed_{user.pk}"
    user.first_name = ""
    user.last_name = ""
    user.save(
        update_fields=[
            "is_active",
            "password",
            "email",
            "username",
            "handle",
            "first_name",
            "last_name",
        ]
    )
    TOTPDevice.objects.filter(user=user).delete()
    tokens_revoke_all(user=user)


def user_delete(
    *, user: User, password: str, otp: str | None, request: HttpRequest | None = None
) -> None:
    """The user closes their account (password, and a code when MFA is on). Receivers of
    ``accounts.signals.account_closing`` may refuse by raising a domain error."""
    _password_confirm(user=user, password=password, field="password", request=request)
    mfa_check(user=user, otp=otp)
    username = user.username
    with transaction.atomic():
        _close(user=user)
        audit_record(event="account.deleted", user=user, request=request, username=username)


@transaction.atomic
def user_disable(*, user: User, actor: User, request: HttpRequest | None = None) -> None:
    """An admin disables an account: it cannot sign in and its tokens are revoked. Unlike a
    deletion the personal data stays, and an admin can re-activate it (with a password reset)."""
    user.is_active = False
    user.save(update_fields=["is_active"])
    revoked = tokens_revoke_all(user=user)
    audit_record(
        event="account.disabled", user=user, actor=actor, request=request, tokens_revoked=revoked
    )


def demo_admin_ensure() -> tuple[User, str]:
    """The demo superuser ``admin`` with the password in ``DEMO_ADMIN_PASSWORD_FILE`` (var/
    unless set), generated once into it when the file does not exist.

    Idempotent: returns the existing admin (and resets its password to the kept one)."""
    path = Path(settings.DEMO_ADMIN_PASSWORD_FILE)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(12))
        path.chmod(0o600)
    password = path.read_text().strip()
    user = User.objects.filter(username="admin").first()
    if user is None:
        user = user_create(
            username="admin",
            email="admin@tradehive.local",
            password=password,
            handle="admin",
            is_staff=True,
            is_superuser=True,
        )
    elif not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    return user, password
