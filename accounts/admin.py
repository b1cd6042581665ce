"""Admin: users (with MFA status and the reset/disable actions), the read-only audit log and the
read-only abuse log (requests refused by rate limits), and API keys (revoke action)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.views import redirect_to_login
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from accounts.api_keys import api_key_revoke
from accounts.models import AbuseRecord, ApiKey, AuditEvent, User
from accounts.requests import AuthenticatedHttpRequest


def admin_login(request: HttpRequest, extra_context: object = None) -> HttpResponse:
    """The admin has no sign-in form of its own: Django's would check the password alone, with
    no lockout and no one-time code. Staff sign in on the site's page (lockouts, MFA) and come
    back to ``next``."""
    return redirect_to_login(
        request.GET.get("next") or reverse("admin:index"), login_url=reverse("accounts:login")
    )


admin.site.login = admin_login  # type: ignore[method-assign]  # the site's own sign-in


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = (
        "username",
        "email",
        "handle",
        "is_bot",
        "rankings_opt_in",
        "rankings_excluded",
        "mfa_on",
        "is_active",
        "is_staff",
        "date_joined",
    )
    list_filter = ("is_active", "is_staff", "is_bot", "rankings_opt_in", "rankings_excluded")
    search_fields = ("username", "email", "handle")
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        (
            "Exchange",
            {"fields": ("handle", "is_bot", "rankings_opt_in", "rankings_excluded")},
        ),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "username",
                    "email",
                    "handle",
                    "usable_password",
                    "password1",
                    "password2",
                ),
            },
        ),
    )
    actions = ["reset_mfa", "disable_accounts", "exclude_from_rankings", "include_in_rankings"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        confirmed = TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
        return super().get_queryset(request).annotate(has_mfa=Exists(confirmed))

    @admin.display(boolean=True, description="MFA", ordering="has_mfa")
    def mfa_on(self, user: User) -> bool:
        return bool(getattr(user, "has_mfa", False))

    @admin.action(description="Reset two-factor authentication (lost device)")
    def reset_mfa(self, request: AuthenticatedHttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            services.mfa_reset(user=user, actor=request.user, request=request)
        self.message_user(request, f"MFA reset for {queryset.count()} user(s).", messages.SUCCESS)

    @admin.action(description="Disable accounts (block sign-in, revoke tokens)")
    def disable_accounts(self, request: AuthenticatedHttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset.exclude(pk=request.user.pk):
            services.user_disable(user=user, actor=request.user, request=request)
        self.message_user(request, "Accounts disabled.", messages.SUCCESS)

    @admin.action(description="Exclude from the public rankings")
    def exclude_from_rankings(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        changed = services.users_rankings_exclude_set(users=queryset, excluded=True)
        self.message_user(request, f"{changed} account(s) excluded from rankings.")

    @admin.action(description="Allow back into the public rankings")
    def include_in_rankings(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        changed = services.users_rankings_exclude_set(users=queryset, excluded=False)
        self.message_user(request, f"{changed} account(s) allowed back into rankings.")


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Append-only: nobody edits or deletes audit entries, not even superusers."""

    list_display = ("created_at", "event", "user", "actor", "ip")
    list_filter = ("event",)
    search_fields = ("user__username", "actor__username", "ip", "event")
    list_select_related = ("user", "actor")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False


@admin.register(AbuseRecord)
class AbuseRecordAdmin(admin.ModelAdmin):
    """Written by the rate limiter only (``accounts.request_limits``); admins read and filter."""

    list_display = (
        "last_seen",
        "rule",
        "user",
        "ip",
        "endpoint",
        "count",
        "window_start",
        "first_seen",
    )
    list_filter = ("rule", "last_seen")
    search_fields = ("user__username", "ip", "subject", "endpoint")
    list_select_related = ("user",)
    date_hierarchy = "last_seen"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AbuseRecord | None = None) -> bool:
        return False


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Users' API keys: admins see and revoke them; nobody sees a secret or edits a key."""

    list_display = (
        "label",
        "user",
        "short_key",
        "permissions",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
        "last_used_ip",
    )
    list_filter = ("revoked_at", "created_at")
    search_fields = ("user__username", "label", "key")
    list_select_related = ("user",)
    exclude = ("secret_encrypted",)
    readonly_fields = (
        "user",
        "label",
        "key",
        "permissions",
        "ip_allowlist",
        "expires_at",
        "revoked_at",
        "created_at",
        "last_used_at",
        "last_used_ip",
    )
    actions = ["revoke_keys"]

    @admin.display(description="key")
    def short_key(self, key: ApiKey) -> str:
        return f"{key.key[:8]}..."

    @admin.action(description="Revoke the selected API keys")
    def revoke_keys(self, request: AuthenticatedHttpRequest, queryset: QuerySet[ApiKey]) -> None:
        revoked = 0
        for key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(key_id=key.pk, actor=request.user, request=request)
            revoked += 1
        self.message_user(request, f"{revoked} key(s) revoked.", messages.SUCCESS)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        return False  # revoke instead: the audit log refers to keys
