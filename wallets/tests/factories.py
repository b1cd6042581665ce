"""factory_boy factories for wallet tests."""

from __future__ import annotations

import factory

from accounts.models import User


class UserFactory(factory.django.DjangoModelFactory[User]):
    """A user without a usable password (hashing is slow; tests authenticate with
    ``force_authenticate``/``force_login``)."""

    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"walletuser{n}")
    handle = factory.LazyAttribute(lambda user: user.username)
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = "!unusable"
