"""The user model. ``handle`` is the public name shown in rankings and copy trading."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
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
        max_length=30, unique=True, validators=[handle_validator],
        help_text="Public name in rankings and copy trading.",
    )
    is_bot = models.BooleanField(
        default=False, help_text="A demo market-making bot (shown as such to admins)."
    )

    REQUIRED_FIELDS = ["email", "handle"]

    class Meta(AbstractUser.Meta):
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

    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="audit_events")
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="audit_actions",
                              help_text="Who did it, when not the user (an admin).")
    event = models.CharField(max_length=50, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.event} {self.user_id or '-'} {self.created_at:%Y-%m-%d %H:%M:%S}"
