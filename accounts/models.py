"""The user model. ``handle`` is the public name shown in rankings and copy trading."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models

handle_validator = RegexValidator(
    r"^[A-Za-z0-9_]{3,30}$", "3-30 letters, digits or underscores.", code="invalid_handle"
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

    def __str__(self) -> str:
        return self.username
