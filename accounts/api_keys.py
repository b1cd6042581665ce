"""API keys: creation, revocation, and the check of a signed request, as Binance signs them.

A bot sends its key in ``X-MBX-APIKEY`` and ``timestamp`` (epoch ms), optionally ``recvWindow``
(ms, default 5,000, at most 60,000) and ``signature`` among its parameters. ``signature`` is the
hex HMAC-SHA256, keyed with the secret, of *totalParams*: the query string followed directly by
the request body, each without the ``signature`` pair (Binance's definition; ccxt's
``binance.sign`` puts everything in the query string for GET/DELETE and in a form body for
POST). The project's own ``/api/v1/`` takes the same signature over its query string and JSON
body, so bots need not use JWT.

``signed_key_for_request`` refuses, in this order: malformed parameters, an unknown, revoked or
expired key (or a disabled user), a client address outside the key's allow-list, a timestamp
outside ``[now - recvWindow, now + 1 s]``, a wrong signature (compared in constant time), and a
signature already seen (replay: each one is remembered in Redis until its window has passed).
Every refusal is ``SignedRequestRefused`` with a ``reason`` the entry points map to their own
codes (``/api/v1``: the ``code`` here; ``/api/v3``: Binance's). What a key may do is a separate
check, ``api_key_permission_check``, made by the view."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from functools import cache
from urllib.parse import parse_qsl

import redis
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import get_random_string

from accounts.audit import audit_record
from accounts.errors import MfaNotEnabled
from accounts.key_vault import VaultError, secret_decrypt, secret_encrypt
from accounts.mfa import mfa_check, mfa_enabled
from accounts.models import ApiKey, User
from tradehive.client_ip import client_ip
from tradehive.errors import Conflict, DomainError, InvalidInput, NotFound, ServiceUnavailable
from tradehive.redis_client import get_redis
from tradehive.sql import prepared_cursor

KEY_LENGTH = 64
SECRET_LENGTH = 64
LABEL_MAX = 64
IP_ALLOWLIST_MAX = 30
HEADER = "HTTP_X_MBX_APIKEY"
# Keys used within this long of the last recorded use do not rewrite last_used_at (a bot
# placing 50 orders a second must not cost 50 row updates a second); a new address always does.
LAST_USED_RESOLUTION = timedelta(seconds=30)

_CACHED = "_tradehive_api_key"  # the verdict kept on the HttpRequest


class SignedRequestRefused(DomainError):
    """A signed request that is not accepted. ``reason``: ``params`` (missing or malformed
    ``timestamp``/``recvWindow``/``signature``), ``key`` (unknown, revoked, expired, user
    disabled), ``ip`` (not in the allow-list), ``timestamp`` (outside the window), ``signature``
    (does not match), ``replay`` (this signature was already used), ``permission`` (the key
    lacks the permission the endpoint needs)."""

    status = 401
    code = "api_key_invalid"
    reason = "key"

    CODES = {
        "params": ("signature_invalid", 401),
        "key": ("api_key_invalid", 401),
        "ip": ("api_key_ip_not_allowed", 403),
        "timestamp": ("timestamp_outside_window", 401),
        "signature": ("signature_invalid", 401),
        "replay": ("signature_replayed", 401),
        "permission": ("api_key_permission", 403),
    }

    def __init__(self, reason: str, message: str) -> None:
        code, status = self.CODES[reason]
        super().__init__(message, code=code)
        self.reason = reason
        self.status = status


# --- keys ------------------------------------------------------------------------------------


def _permissions_clean(permissions: Iterable[object]) -> list[str]:
    wanted: set[str] = set()
    for item in permissions:
        if not isinstance(item, str) or item not in ApiKey.PERMISSIONS:
            message = f"Permissions are {', '.join(ApiKey.PERMISSIONS)}."
            raise InvalidInput(message, fields={"permissions": [message]})
        wanted.add(item)
    wanted.add(ApiKey.READ)  # every key can read, as on Binance
    return [p for p in ApiKey.PERMISSIONS if p in wanted]


def _ip_allowlist_clean(entries: Sequence[object]) -> list[str]:
    if len(entries) > IP_ALLOWLIST_MAX:
        message = f"At most {IP_ALLOWLIST_MAX} addresses."
        raise InvalidInput(message, fields={"ip_allowlist": [message]})
    networks: list[str] = []
    for entry in entries:
        try:
            if not isinstance(entry, str) or not entry.isascii():
                raise ValueError(entry)
            network = ipaddress.ip_network(entry.strip(), strict=False)
        except ValueError as exc:
            message = f"{str(entry)[:50]!r} is not an IP address or network (CIDR)."
            raise InvalidInput(message, fields={"ip_allowlist": [message]}) from exc
        text = str(network.network_address if network.num_addresses == 1 else network)
        if text not in networks:
            networks.append(text)
    return networks


def api_key_create(
    *,
    user: User,
    label: str,
    permissions: Iterable[object],
    ip_allowlist: Sequence[object] = (),
    expires_at: datetime | None = None,
    otp: str | None = None,
    request: HttpRequest | None = None,
) -> tuple[ApiKey, str]:
    """A new key for ``user`` and its secret (returned this once, stored only encrypted).

    Needs the user's one-time code when MFA is on (``mfa_required``). ``withdraw`` needs MFA on
    and an IP allow-list (Binance's rule: a stolen withdraw key must be useless elsewhere).
    ``read`` is always granted. Raises ``InvalidInput`` for a bad label, permission, address or
    a past expiry, ``Conflict`` when the user already has ``API_KEY_MAX_PER_USER`` live keys."""
    label = label.strip() if isinstance(label, str) else ""
    if not label or len(label) > LABEL_MAX or not label.isprintable():
        message = f"A label of 1-{LABEL_MAX} printable characters."
        raise InvalidInput(message, fields={"label": [message]})
    granted = _permissions_clean(permissions)
    networks = _ip_allowlist_clean(ip_allowlist)
    if expires_at is not None and expires_at <= timezone.now():
        message = "The expiry must be in the future."
        raise InvalidInput(message, fields={"expires_at": [message]})
    if ApiKey.WITHDRAW in granted:
        if not mfa_enabled(user):
            raise MfaNotEnabled("Turn on two-factor authentication to create a withdraw key.")
        if not networks:
            message = "A key with the withdraw permission needs an IP allow-list."
            raise InvalidInput(message, fields={"ip_allowlist": [message]})
    mfa_check(user=user, otp=otp)  # outside the transaction: a used code stays used
    secret = get_random_string(SECRET_LENGTH)
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()  # one creation at a time
        live = api_key_live_queryset(user=user).count()
        if live >= settings.API_KEY_MAX_PER_USER:
            raise Conflict(
                f"At most {settings.API_KEY_MAX_PER_USER} keys; revoke one first.",
                code="api_key_limit",
            )
        key = ApiKey.objects.create(
            user=user,
            label=label,
            key=get_random_string(KEY_LENGTH),
            secret_encrypted=secret_encrypt(secret),
            permissions=granted,
            ip_allowlist=networks,
            expires_at=expires_at,
        )
        audit_record(
            event="api_key.created",
            user=user,
            request=request,
            api_key_id=key.pk,
            label=label,
            permissions=granted,
            ip_allowlist=networks,
            expires_at=expires_at.isoformat() if expires_at else None,
        )
    return key, secret


def api_key_live_queryset(*, user: User) -> QuerySet[ApiKey]:
    """The user's keys that are not revoked (expired ones included: they still count)."""
    return ApiKey.objects.filter(user=user, revoked_at__isnull=True)


def api_key_list(*, user: User) -> list[ApiKey]:
    """Every key of the user, newest first, revoked ones included (they show as revoked)."""
    return list(ApiKey.objects.filter(user=user).order_by("-id"))


def api_key_revoke(
    *,
    key_id: int,
    user: User | None = None,
    actor: User | None = None,
    request: HttpRequest | None = None,
) -> ApiKey:
    """Revoke a key at once (the next request signed with it is refused). ``user``: the owner
    (``NotFound`` for anyone else's key); ``actor``: an admin revoking any key. Revoking twice
    is a no-op."""
    with transaction.atomic():
        rows = ApiKey.objects.select_for_update().filter(pk=key_id)
        if user is not None:
            rows = rows.filter(user=user)
        key = rows.first()
        if key is None:
            raise NotFound("No such API key.", code="api_key_not_found")
        if key.revoked_at is None:
            key.revoked_at = timezone.now()
            key.save(update_fields=["revoked_at"])
            audit_record(
                event="api_key.revoked",
                user=key.user,
                actor=actor,
                request=request,
                api_key_id=key.pk,
                label=key.label,
            )
    return key


# --- signed requests -------------------------------------------------------------------------


def _pairs_without_signature(raw: str) -> tuple[str, list[str]]:
    """``raw`` (a query string or form body) without its ``signature=`` pairs, and their values."""
    kept: list[str] = []
    signatures: list[str] = []
    for part in raw.split("&") if raw else []:
        if part.startswith("signature="):
            signatures.append(part[len("signature=") :])
        else:
            kept.append(part)
    return "&".join(kept), signatures


def _one_param(name: str, *sources: list[tuple[str, str]]) -> str | None:
    values = [value for source in sources for key, value in source if key == name]
    if len(values) > 1:
        raise SignedRequestRefused("params", f"{name} is given more than once.")
    return values[0] if values else None


def _ms(name: str, text: str | None, *, low: int, high: int) -> int | None:
    if text is None:
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= 16):
        raise SignedRequestRefused("params", f"{name} must be whole milliseconds.")
    value = int(text)
    if not low <= value <= high:
        raise SignedRequestRefused("params", f"{name} must be between {low} and {high}.")
    return value


def _allowed_from(key: ApiKey, ip: str | None) -> bool:
    if not key.ip_allowlist:
        return True
    if ip is None:
        return False
    address = ipaddress.ip_address(ip)
    return any(address in ipaddress.ip_network(entry, strict=False) for entry in key.ip_allowlist)


def _verify(request: HttpRequest, header: str) -> ApiKey:
    if not (header.isascii() and header.isalnum() and len(header) == KEY_LENGTH):
        raise SignedRequestRefused("key", "Invalid API key.")
    try:
        query = request.META.get("QUERY_STRING", "")
        body = request.body.decode("ascii") if request.body else ""
    except UnicodeDecodeError as exc:
        raise SignedRequestRefused("params", "A signed request's parameters are ASCII.") from exc
    form_body = (request.content_type or "") == "application/x-www-form-urlencoded"
    query_signed, query_signatures = _pairs_without_signature(query)
    body_signed, body_signatures = _pairs_without_signature(body) if form_body else (body, [])
    signatures = query_signatures + body_signatures
    if len(signatures) != 1:
        raise SignedRequestRefused("params", "Exactly one signature parameter is required.")
    signature = signatures[0].lower()
    query_params = parse_qsl(query_signed, keep_blank_values=True)
    body_params = parse_qsl(body_signed, keep_blank_values=True) if form_body else []
    now_ms = int(time.time() * 1000)
    timestamp = _ms(
        "timestamp", _one_param("timestamp", query_params, body_params), low=0, high=10**15
    )
    if timestamp is None:
        raise SignedRequestRefused("params", "timestamp is required.")
    recv_window = _ms(
        "recvWindow",
        _one_param("recvWindow", query_params, body_params),
        low=1,
        high=settings.API_KEY_RECV_WINDOW_MAX_MS,
    )
    window = recv_window or settings.API_KEY_RECV_WINDOW_DEFAULT_MS

    key = _key_with_user(header)
    if (
        key is None
        or key.revoked_at is not None
        or (key.expires_at is not None and key.expires_at <= timezone.now())
        or not key.user.is_active
    ):
        raise SignedRequestRefused("key", "Invalid API key, or it is revoked or expired.")
    ip = client_ip(request)
    if not _allowed_from(key, ip):
        raise SignedRequestRefused("ip", "This API key may not be used from this address.")
    if timestamp > now_ms + settings.API_KEY_FUTURE_SKEW_MS or now_ms - timestamp > window:
        raise SignedRequestRefused(
            "timestamp", "Timestamp for this request is outside of the recvWindow."
        )
    try:
        secret = secret_decrypt(key.secret_encrypted)
    except VaultError as exc:  # the vault keys changed under a row: the key cannot be checked
        raise SignedRequestRefused("key", "Invalid API key, or it is revoked or expired.") from exc
    payload = (query_signed + body_signed).encode("ascii")
    expected = hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise SignedRequestRefused("signature", "Signature for this request is not valid.")
    _replay_check(key=key, signature=signature, expires_ms=timestamp + window - now_ms)
    _last_use_record(key=key, ip=ip)
    return key


@cache
def _key_with_user_sql() -> tuple[str, list[str], list[str]]:
    """One statement for the key and its user (the ORM's join costs more than the check
    itself; prepared, it is a single round trip and no query compilation)."""
    key_fields = [f for f in ApiKey._meta.concrete_fields]
    user_fields = [f for f in User._meta.concrete_fields]
    columns = [
        f'host(k."{f.column}")'
        if f.get_internal_type() == "GenericIPAddressField"
        else f'k."{f.column}"'
        for f in key_fields
    ] + [f'u."{f.column}"' for f in user_fields]
    # Only the models' own table and column names are interpolated.
    tables = f"{ApiKey._meta.db_table} k JOIN {User._meta.db_table} u ON u.id = k.user_id"
    sql = f"SELECT {', '.join(columns)} FROM {tables} WHERE k.key = %s"  # noqa: S608
    return sql, [f.attname for f in key_fields], [f.attname for f in user_fields]


def _key_with_user(header: str) -> ApiKey | None:
    sql, key_names, user_names = _key_with_user_sql()
    with prepared_cursor() as cursor:
        cursor.execute(sql, [header])
        row = cursor.fetchone()
    if row is None:
        return None
    key = ApiKey.from_db(DEFAULT_DB_ALIAS, key_names, row[: len(key_names)])
    key.user = User.from_db(DEFAULT_DB_ALIAS, user_names, row[len(key_names) :])
    return key


def _replay_check(*, key: ApiKey, signature: str, expires_ms: int) -> None:
    """Remember the signature until its window has passed; refuse it if it was seen. Fails
    closed: without Redis a replay could not be told apart, so the request is refused (503)."""
    ttl_ms = max(1, expires_ms) + settings.API_KEY_FUTURE_SKEW_MS
    try:
        fresh = get_redis().set(f"apikey:seen:{key.pk}:{signature}", "1", nx=True, px=ttl_ms)
    except redis.RedisError as exc:
        raise ServiceUnavailable("Signed requests cannot be checked right now.") from exc
    if not fresh:
        raise SignedRequestRefused("replay", "This signature was already used.")


def _last_use_record(*, key: ApiKey, ip: str | None) -> None:
    now = timezone.now()
    stale = key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION
    if stale or key.last_used_ip != ip:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now, last_used_ip=ip)
        key.last_used_at, key.last_used_ip = now, ip


def signed_key_for_request(request: HttpRequest) -> ApiKey | None:
    """The API key a request is signed with, checked (module docstring); ``None`` when it has no
    ``X-MBX-APIKEY`` header. Raises ``SignedRequestRefused``. The verdict is kept on the request:
    the rate limiter asks first, authentication again, and a signature counts as used once."""
    header = request.META.get(HEADER)
    if header is None:
        return None
    cached = getattr(request, _CACHED, None)
    if cached is None:
        try:
            cached = _verify(request, header)
        except SignedRequestRefused as exc:
            cached = exc
        setattr(request, _CACHED, cached)
    if isinstance(cached, SignedRequestRefused):
        raise cached
    return cached


def api_key_permission_check(key: ApiKey, permission: str) -> None:
    """Raise ``SignedRequestRefused`` (reason ``permission``) unless ``key`` has ``permission``."""
    if permission not in key.permissions:
        raise SignedRequestRefused(
            "permission", f"This API key does not have the {permission} permission."
        )
