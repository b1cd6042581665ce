"""Account writes: registration and the demo admin."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import transaction

from accounts.models import User


@transaction.atomic
def user_create(*, username: str, email: str, password: str, handle: str | None = None,
                is_staff: bool = False, is_superuser: bool = False, is_bot: bool = False) -> User:
    """Create a user; ``handle`` defaults to the username. Caller validated the password."""
    user = User(username=username, email=email.lower(), handle=handle or username,
                is_staff=is_staff, is_superuser=is_superuser, is_bot=is_bot)
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    return user


def demo_admin_ensure() -> tuple[User, str]:
    """The demo superuser ``admin`` with a password generated once and kept in var/.

    Idempotent: returns the existing admin (and resets its password to the kept one)."""
    path = settings.VAR_DIR / "demo_admin_password"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(12))
        path.chmod(0o600)
    password = path.read_text().strip()
    user = User.objects.filter(username="admin").first()
    if user is None:
        user = user_create(username="admin", email="admin@tradehive.local", password=password,
                           handle="admin", is_staff=True, is_superuser=True)
    elif not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    return user, password
