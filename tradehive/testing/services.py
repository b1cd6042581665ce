"""What a test does when a machine service it needs is not there."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def service_missing(reason: str) -> NoReturn:
    """Skip on a developer's machine; fail under CI, where a missing service is a failure and
    never a silent skip."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)
