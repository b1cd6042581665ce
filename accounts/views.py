"""Web pages of accounts (session auth). Each POST calls the same service as the REST API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as session_login
from django.contrib.auth import logout as session_logout
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from accounts import api_keys, services
from accounts.audit import audit_record
from accounts.errors import LoginExpired
from accounts.forms import (
    ApiKeyForm,
    DeleteAccountForm,
    LoginForm,
    OtpForm,
    PasswordChangeForm,
    ProfileForm,
    SignupForm,
    form_error_apply,
)
from accounts.mfa import MfaRequired, mfa_enabled
from accounts.requests import AuthenticatedHttpRequest
from accounts.selectors import audit_events_recent_for_user
from tradehive.errors import DomainError, RateLimited


def _next_url(request: HttpRequest) -> str:
    """Where to go after signing in: ``?next=`` when it is on this site, else the home page."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return settings.LOGIN_REDIRECT_URL


def _status_of(form: Any) -> int:
    return 400 if form.is_bound and form.errors else 200


def _form_status(exc: DomainError) -> int:
    """A form refused by a service: 429 when rate limited, else 400 (the form has errors)."""
    return exc.status if isinstance(exc, RateLimited) else 400


def _answer(response: HttpResponse, exc: DomainError | None) -> HttpResponse:
    """A page refused because of a rate limit carries ``Retry-After`` as the API's 429s do."""
    if isinstance(exc, RateLimited):
        response["Retry-After"] = str(exc.retry_after)
    return response


@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_register(**form.cleaned_data, request=request)
        except DomainError as exc:
            form_error_apply(form, exc)
        else:
            session_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, "Welcome to TradeHive.")
            return redirect(_next_url(request))
    return render(
        request,
        "accounts/signup.html",
        {"form": form, "next": _next_url(request)},
        status=_status_of(form),
    )


def _login_url(request: HttpRequest, view: str = "accounts:login") -> str:
    """The URL of a sign-in step, carrying ``next`` along."""
    url = reverse(view)
    target = _next_url(request)
    if target != settings.LOGIN_REDIRECT_URL:
        url = f"{url}?{urlencode({'next': target})}"
    return url


@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    """Step 1: username and password. Accounts with MFA continue at ``login_otp``."""
    form = LoginForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            started = services.session_login_start(**form.cleaned_data, request=request)
        except DomainError as exc:
            form_error_apply(form, exc)
            status = exc.status
        else:
            if started.otp_needed:
                return redirect(_login_url(request, "accounts:login_otp"))
            session_login(request, started.user)
            return redirect(_next_url(request))
    if status == 200:
        status = _status_of(form)
    return render(
        request, "accounts/login.html", {"form": form, "next": _next_url(request)}, status=status
    )


@sensitive_post_parameters("otp")
@require_http_methods(["GET", "POST"])
def login_otp(request: HttpRequest) -> HttpResponse:
    """Step 2 for accounts with MFA: the code from the authenticator app."""
    if request.method == "GET" and services.session_login_pending(request=request) is None:
        messages.error(request, LoginExpired.default_message)
        return redirect(_login_url(request))
    form = OtpForm(request.POST or None)
    form.fields["otp"].widget.attrs["autofocus"] = True
    status = 200
    refused: DomainError | None = None
    if request.method == "POST" and form.is_valid():
        try:
            user = services.session_login_finish(otp=form.cleaned_data["otp"], request=request)
        except (MfaRequired, RateLimited) as exc:
            # A wrong code, or too many: say so (with the wait) on the code step.
            form_error_apply(form, exc)
            status, refused = exc.status, exc
        except DomainError as exc:
            # No live step 1 (any more): start again with the password.
            messages.error(request, exc.message)
            return redirect(_login_url(request))
        else:
            session_login(request, user)
            return redirect(_next_url(request))
    if status == 200:
        status = _status_of(form)
    return _answer(
        render(
            request,
            "accounts/login_otp.html",
            {"form": form, "next": _next_url(request)},
            status=status,
        ),
        refused,
    )


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        audit_record(event="logout", user=request.user, request=request, via="session")
    session_logout(request)
    return redirect(settings.LOGOUT_REDIRECT_URL)


def _profile_page(
    request: AuthenticatedHttpRequest,
    status: int = 200,
    refused: DomainError | None = None,
    **forms: Any,
) -> HttpResponse:
    user = request.user
    enabled = mfa_enabled(user)
    context = {
        "profile_form": forms.get("profile_form")
        or ProfileForm(
            initial={
                "email": user.email,
                "handle": user.handle,
                "first_name": user.first_name,
                "last_name": user.last_name,
                "rankings_opt_in": user.rankings_opt_in,
            }
        ),
        "password_form": forms.get("password_form") or PasswordChangeForm(),
        "mfa_form": forms.get("mfa_form") or OtpForm(),
        "delete_form": forms.get("delete_form") or DeleteAccountForm(),
        "mfa_enabled": enabled,
        "mfa_pending": not enabled and services.mfa_enrollment_pending(user=user) is not None,
        "events": audit_events_recent_for_user(user=user),
        "api_keys": api_keys.api_key_list(user=user),
        "api_key_form": forms.get("api_key_form") or ApiKeyForm(prefix=ApiKeyForm.PREFIX),
        "now": timezone.now(),
    }
    return _answer(render(request, "accounts/profile.html", context, status=status), refused)


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: AuthenticatedHttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _profile_page(request)
    form = ProfileForm(request.POST)
    if form.is_valid():
        fields = dict(form.cleaned_data)
        opt_in = bool(fields.pop("rankings_opt_in"))
        try:
            services.user_update(user=request.user, **fields)
            services.user_rankings_opt_in_set(user=request.user, opt_in=opt_in)
        except DomainError as exc:
            form_error_apply(form, exc)
        else:
            messages.success(request, "Profile saved.")
            return redirect("accounts:profile")
    return _profile_page(request, status=400, profile_form=form)


@sensitive_post_parameters("old_password", "new_password")
@login_required
@require_POST
def password_change(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.POST)
    if form.is_valid():
        try:
            services.password_change(user=request.user, **form.cleaned_data, request=request)
        except DomainError as exc:
            form_error_apply(form, exc)
        else:
            # Keep this browser signed in; every other session ends with the old password.
            update_session_auth_hash(request, request.user)
            messages.success(request, "Password changed. Other sessions were signed out.")
            return redirect("accounts:profile")
    return _profile_page(request, status=400, password_form=form)


@login_required
@require_POST
def mfa_setup(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Show the set-up under way (its secret unchanged), or start one; ``restart=1`` (the
    "Start over" button) replaces the secret."""
    try:
        enrollment = services.mfa_setup(
            user=request.user, restart=request.POST.get("restart") == "1"
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("accounts:profile")
    return render(request, "accounts/mfa_setup.html", {"enrollment": enrollment, "form": OtpForm()})


@login_required
@require_POST
def mfa_confirm(request: AuthenticatedHttpRequest) -> HttpResponse:
    """A refused code shows the same set-up page again: same secret, the error, a new try."""
    form = OtpForm(request.POST)
    status = 400
    refused: DomainError | None = None
    if form.is_valid():
        try:
            services.mfa_confirm(user=request.user, otp=form.cleaned_data["otp"], request=request)
        except DomainError as exc:
            form_error_apply(form, exc)
            status, refused = exc.status, exc
        else:
            messages.success(request, "Two-factor authentication is on.")
            return redirect("accounts:profile")
    enrollment = services.mfa_enrollment_pending(user=request.user)
    if enrollment is None:  # nothing to confirm (never set up, or already on)
        if refused is not None:
            messages.error(request, refused.message)
        return redirect("accounts:profile")
    return _answer(
        render(
            request,
            "accounts/mfa_setup.html",
            {"enrollment": enrollment, "form": form},
            status=status,
        ),
        refused,
    )


@login_required
@require_POST
def mfa_disable(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = OtpForm(request.POST)
    if form.is_valid():
        try:
            services.mfa_disable(user=request.user, otp=form.cleaned_data["otp"], request=request)
        except DomainError as exc:
            form_error_apply(form, exc)
            return _profile_page(request, status=_form_status(exc), refused=exc, mfa_form=form)
        messages.success(request, "Two-factor authentication is off.")
        return redirect("accounts:profile")
    return _profile_page(request, status=400, mfa_form=form)


@sensitive_post_parameters("password", "otp")
@login_required
@require_POST
def account_delete(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = DeleteAccountForm(request.POST)
    if form.is_valid():
        try:
            services.user_delete(
                user=request.user,
                password=form.cleaned_data["password"],
                otp=form.cleaned_data["otp"],
                request=request,
            )
        except DomainError as exc:
            form_error_apply(form, exc)
            return _profile_page(request, status=_form_status(exc), refused=exc, delete_form=form)
        else:
            session_logout(request)
            messages.success(request, "Your account is closed.")
            return redirect(settings.LOGOUT_REDIRECT_URL)
    return _profile_page(request, status=400, delete_form=form)


@sensitive_post_parameters("otp")
@login_required
@require_POST
def api_key_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Create a key and show its secret on this one page (never stored, never redirected with)."""
    form = ApiKeyForm(request.POST, prefix=ApiKeyForm.PREFIX)
    if form.is_valid():
        days = form.cleaned_data["expires_in"]
        try:
            key, secret = api_keys.api_key_create(
                user=request.user,
                label=form.cleaned_data["label"],
                permissions=form.cleaned_data["permissions"],
                ip_allowlist=form.cleaned_data["ip_allowlist"],
                expires_at=timezone.now() + timedelta(days=int(days)) if days else None,
                otp=form.cleaned_data["otp"] or None,
                request=request,
            )
        except DomainError as exc:
            form_error_apply(form, exc)
            return _profile_page(request, status=_form_status(exc), refused=exc, api_key_form=form)
        response = render(request, "accounts/api_key_created.html", {"key": key, "secret": secret})
        response["Cache-Control"] = "no-store"
        return response
    return _profile_page(request, status=400, api_key_form=form)


@login_required
@require_POST
def api_key_revoke(request: AuthenticatedHttpRequest, key_id: int) -> HttpResponse:
    try:
        key = api_keys.api_key_revoke(key_id=key_id, user=request.user, request=request)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"API key '{key.label}' revoked.")
    return redirect("accounts:profile")
