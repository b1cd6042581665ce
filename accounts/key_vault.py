"""Encryption at rest of API-key secrets (Fernet, from ``cryptography``).

A signature check needs the secret itself, so it cannot be stored as a one-way hash the way a
password is. It is kept as a Fernet token (AES-128-CBC + HMAC-SHA256) under the keys of
``settings.API_KEY_ENCRYPTION_KEYS``: the first encrypts, every one decrypts. Rotation: put a new
key first, run ``manage.py rotate_api_key_secrets`` (re-encrypts every row under it), then drop
the old key. Without the setting (development, tests) one key is derived from ``SECRET_KEY``;
production settings require it, so a leaked database without the environment reveals no secret."""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class VaultError(Exception):
    """A stored secret could not be decrypted with any configured key."""


def _derived_key() -> bytes:
    digest = hashlib.sha256(f"tradehive-api-key-vault:{settings.SECRET_KEY}".encode()).digest()
    return base64.urlsafe_b64encode(digest)


@lru_cache(maxsize=1)
def _vault() -> MultiFernet:
    keys = [k.encode() for k in settings.API_KEY_ENCRYPTION_KEYS] or [_derived_key()]
    return MultiFernet([Fernet(k) for k in keys])


def vault_reset() -> None:
    """Forget the cached keys (after the setting changes: tests, rotation)."""
    _vault.cache_clear()


def secret_encrypt(secret: str) -> str:
    return _vault().encrypt(secret.encode()).decode()


def secret_decrypt(token: str) -> str:
    try:
        return _vault().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise VaultError("no configured key decrypts this secret") from exc


def secret_rotate(token: str) -> str:
    """``token`` re-encrypted under the first (newest) key."""
    try:
        return _vault().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise VaultError("no configured key decrypts this secret") from exc
