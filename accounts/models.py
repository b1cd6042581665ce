"""The user model. ``handle`` is the public name shown in rankings and copy trading."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.contrib.postgres.fields import ArrayField
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower

HANDLE_PATTERN = r"^[A-Za-z0-9_]{3,30}$"
handle_validator = RegexValidator(
    HANDLE_PATTERN, "3-30 letters, digits or underscores.", code="invalid_handle"
)


class User(AbstractUser):
    email = models.EmailField("email address", unique=True)
    handle = models.CharField(
        max_length=30,
        unique=True,
        validators=[handle_validator],
        help_text="Public name in rankings and copy trading.",
    )
    is_bot = models.BooleanField(
        default=False, help_text="A demo market-making bot (shown as such to admins)."
    )
    # Rankings privacy (docs/rankings.md): a trader appears in rankings and has a public profile
    # only after opting in; an admin may keep an account out whatever it chose.
    rankings_opt_in = models.BooleanField(
        default=False, help_text="Shown in the public rankings and profile (the user's choice)."
    )
    rankings_excluded = models.BooleanField(
        default=False, help_text="Kept out of the public rankings by an admin."
    )
    # A sub-account (a copy-trading allocation, docs/copytrading.md): its own balances and
    # orders, owned by ``parent``; it never signs in (no usable password) and is never ranked.
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sub_accounts",
        help_text="The user who owns this sub-account (copy trading).",
    )

    REQUIRED_FIELDS = ["email", "handle"]

    class Meta(AbstractUser.Meta):  # type: ignore[name-defined]  # real, but not in django-stubs
        # "Alice" and "alice" are one person to other users: names are unique ignoring case.
        constraints = [
            models.UniqueConstraint(Lower("username"), name="accounts_user_username_ci_unique"),
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
            models.UniqueConstraint(Lower("handle"), name="accounts_user_handle_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.username


class AuditEvent(models.Model):
    """An append-only security/operations log entry (read-only in admin).

    ``event`` is a short dotted name; the ones in use are listed in ``accounts.audit``."""

    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    actor = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_actions",
        help_text="Who did it, when not the user (an admin).",
    )
    event = models.CharField(max_length=50, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.event} {self.user_id or '-'} {self.created_at:%Y-%m-%d %H:%M:%S}"


class AbuseRecord(models.Model):
    """Requests a rate limit refused: one row per rule, subject and window (not per request), so
    an attack adds at most one row a window per offending user or address
    (``accounts.request_limits``). Read-only in admin."""

    rule = models.CharField(
        max_length=30,
        db_index=True,
        help_text="The budget that ran out (ip_weight, user_weight, ...).",
    )
    subject = models.CharField(max_length=80, help_text='"user:<id>" or "ip:<address>".')
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="abuse_records"
    )
    ip = models.GenericIPAddressField(null=True, blank=True)
    endpoint = models.CharField(max_length=120, help_text="Method and route last refused.")
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(help_text="Requests refused in the window.")
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-last_seen"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "subject", "window_start"], name="accounts_abuse_one_row_per_window"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule} {self.subject} x{self.count} {self.window_start:%Y-%m-%d %H:%M:%S}"


class ApiKey(models.Model):
    """A key a bot signs requests with, as Binance's are (``accounts.api_keys``).

    ``key`` is the public half, sent in ``X-MBX-APIKEY``. The secret is needed server-side to
    check HMAC signatures, so it cannot be hashed: ``secret_encrypted`` holds it encrypted with
    Fernet under ``API_KEY_ENCRYPTION_KEYS`` (``accounts.key_vault``). Revoked keys are kept
    (revoked_at set) so the audit log's references stay meaningful."""

    READ, TRADE, WITHDRAW = "read", "trade", "withdraw"
    PERMISSIONS = (READ, TRADE, WITHDRAW)

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")
    label = models.CharField(max_length=64)
    key = models.CharField(max_length=64, unique=True)
    secret_encrypted = models.TextField(help_text="Fernet token of the secret; never shown.")
    permissions = ArrayField(models.CharField(max_length=10), help_text="read, trade, withdraw")
    ip_allowlist = ArrayField(
        models.CharField(max_length=43),
        default=list,
        blank=True,
        help_text="Addresses or networks (CIDR) the key may be used from; empty: any.",
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.label} ({self.key[:8]}...)"
