"""factory_boy factories for accounts; other apps' tests import ``UserFactory`` from here."""

from __future__ import annotations

import factory

from accounts.models import User

DEFAULT_PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory[User]):
    """A user whose password is ``DEFAULT_PASSWORD``."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"trader{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    handle = factory.LazyAttribute(lambda user: user.username)
    password = factory.django.Password(DEFAULT_PASSWORD)
