"""Fixtures for accounts tests: users, signed-in clients and authenticator codes."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import token_pair_issue
from accounts.tests.factories import UserFactory


@pytest.fixture
def user(db) -> User:
    return UserFactory.create()


@pytest.fixture
def jwt_client(user: User) -> APIClient:
    """An API client signed in as ``user`` with an access JWT."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_issue(user=user)['access']}")
    return client


def code_for(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The device's code ``steps_ahead`` time steps from now. Devices accept one step of drift
    and never the same step twice, so a test that needs a second code uses the next step."""
    value = totp(
        device.bin_key,
        step=device.step,
        t0=device.t0,
        digits=device.digits,
        drift=device.drift + steps_ahead,
    )
    return f"{value:0{device.digits}d}"


@pytest.fixture
def mfa_user(user: User) -> User:
    """``user`` with a confirmed authenticator."""
    TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    return user


@pytest.fixture
def otp_for() -> Callable[..., str]:
    def make(user: User, steps_ahead: int = 0) -> str:
        device = TOTPDevice.objects.filter(user=user).order_by("-id").first()
        assert device is not None
        return code_for(device, steps_ahead)

    return make
