"""JWT authentication for REST (and the websocket ``auth`` op).

API.md promises one answer for "this token does not work", whatever the reason (tampered,
expired, blacklisted, a deleted or disabled user, issued before a password change):
401 ``token_not_valid`` with a plain message, which simplejwt's own class does not give."""

from __future__ import annotations

import re
from typing import Any

from django.http import HttpRequest
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken, Token
from rest_framework_simplejwt.utils import get_md5_hash_password

from accounts.api_keys import signed_key_for_request
from accounts.errors import TokenNotValid
from accounts.models import User
from accounts.selectors import user_get_by_id

_VALIDATED = "_tradehive_access_token"  # (raw token, AccessToken) kept on the HttpRequest


def access_token_validated(request: HttpRequest, raw: str) -> AccessToken:
    """``raw`` checked as an access JWT (signature, expiry, type), once per request: the rate
    limiter reads the user from it before DRF authenticates, and both use this. Raises
    ``TokenError``."""
    cached = getattr(request, _VALIDATED, None)
    if cached is not None and cached[0] == raw:
        return cached[1]
    token = AccessToken(raw)  # type: ignore[arg-type]  # stubs miss the str form
    setattr(request, _VALIDATED, (raw, token))
    return token


class JWTAuthentication(authentication.JWTAuthentication):
    """``Authorization: Bearer <access JWT>``; every refusal of a token is ``token_not_valid``."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        try:
            header = self.get_header(request)
            raw = self.get_raw_token(header) if header is not None else None
            if raw is None:
                return None
            token = access_token_validated(request._request, raw.decode())
            return self.get_user(token), token
        except (
            TokenError,
            UnicodeDecodeError,
            InvalidToken,
            exceptions.AuthenticationFailed,
        ) as exc:
            raise exceptions.AuthenticationFailed(
                TokenNotValid.default_message, code=TokenNotValid.code
            ) from exc

    # simplejwt types this with an unbound TypeVar; ours returns a User (or raises).
    def get_user(self, validated_token: Token) -> User:  # type: ignore[override]
        """simplejwt's checks (the user exists and is active, the token's password hash is the
        user's current one) on a user read by ``user_get_by_id`` instead of the ORM's ``get``."""
        claim = validated_token.get(api_settings.USER_ID_CLAIM)  # simplejwt writes str(pk)
        if not isinstance(claim, str | int) or not re.fullmatch(r"[0-9]{1,19}", str(claim)):
            raise InvalidToken("Token contained no recognizable user identification")
        user = user_get_by_id(user_id=int(claim))
        if user is None:
            raise exceptions.AuthenticationFailed("User not found", code="user_not_found")
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise exceptions.AuthenticationFailed("User is inactive", code="user_inactive")
        if api_settings.CHECK_REVOKE_TOKEN and validated_token.get(
            api_settings.REVOKE_TOKEN_CLAIM
        ) != get_md5_hash_password(user.password):
            raise exceptions.AuthenticationFailed(
                "The user's password has been changed.", code="password_changed"
            )
        return user


class JWTScheme(SimpleJWTScheme):
    """OpenAPI: document our subclass as the Bearer JWT scheme simplejwt's class is."""

    target_class = "accounts.authentication.JWTAuthentication"


def user_from_access_token(raw: str) -> User:
    """The active user an access JWT belongs to (for websocket auth); raises ``TokenNotValid``."""
    try:
        token = AccessToken(raw)  # type: ignore[arg-type]  # stubs miss the str form
        user = authentication.JWTAuthentication().get_user(token)
    except (TokenError, InvalidToken, exceptions.AuthenticationFailed) as exc:
        raise TokenNotValid() from exc
    assert isinstance(user, User)
    return user


class ApiKeyAuthentication(BaseAuthentication):
    """A request signed with an API key (``X-MBX-APIKEY``, ``timestamp``, ``signature``; see
    ``accounts.api_keys``). ``request.auth`` is the ``ApiKey``; what it may do is checked by
    ``accounts.permissions.ApiKeyScope``. A refused signature is an error, not "anonymous"."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        key = signed_key_for_request(request._request)
        if key is None:
            return None
        return key.user, key

    def authenticate_header(self, request: Request) -> str:
        return "X-MBX-APIKEY"


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """OpenAPI: the signed-key scheme (the signature itself is described in docs/api.md)."""

    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "header", "name": "X-MBX-APIKEY"}
