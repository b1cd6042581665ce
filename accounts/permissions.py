"""What a request signed with an API key may do (``ApiKeyScope``, a default DRF permission).

A view names the permission a key needs in ``api_key_permission``: ``"read"``, ``"trade"``,
``"withdraw"``, a dict by HTTP method, or ``None`` for "keys are not accepted here" (managing
keys, passwords, MFA, sessions: a leaked key must not be able to make itself permanent).
Without the attribute, reads need ``read`` and writes ``trade``. Requests authenticated any other
way (JWT, session) are not concerned."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from accounts.api_keys import SignedRequestRefused, api_key_permission_check
from accounts.models import ApiKey

NO_KEYS = None


def api_key_permission_needed(view: Any, method: str) -> str | None:
    needed = getattr(view, "api_key_permission", ...)
    if needed is ...:
        return ApiKey.READ if method in SAFE_METHODS else ApiKey.TRADE
    if isinstance(needed, dict):
        return needed.get(method, ApiKey.READ if method in SAFE_METHODS else ApiKey.TRADE)
    return needed


class ApiKeyScope(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            return True
        needed = api_key_permission_needed(view, request.method or "GET")
        if needed is None:
            raise SignedRequestRefused("permission", "API keys cannot be used for this.")
        api_key_permission_check(key, needed)
        return True
