"""The address of the client behind a request, trusting forwarded headers only from our proxies.

``settings.TRUSTED_PROXIES`` (env ``TRUSTED_PROXIES``: comma-separated addresses or CIDR
networks, default none) names the reverse proxies in front of the application. The TCP peer
(``REMOTE_ADDR``) is the client unless it is one of them; then ``X-Forwarded-For`` is read from the
right (each proxy appends the peer it saw) and the first address that is not a trusted proxy is
the client. Everything left of it was written by the client or by proxies we do not run, so it can
be forged and is never used. With no trusted proxies the header is ignored altogether.

Anything that limits, logs or bans by address (login lockout, registration cap, audit log, API
rate limits, abuse records) asks ``client_ip`` and nothing else. The ASGI server must not rewrite
the peer address itself (uvicorn runs with ``--no-proxy-headers``), or ``REMOTE_ADDR`` would
already be whatever the header claimed."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def trusted_networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    """Parse ``TRUSTED_PROXIES`` entries; a bad entry is a configuration error, not ignored."""
    networks: list[Network] = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"TRUSTED_PROXIES: {entry!r} is not an IP address or network"
            ) from exc
    return tuple(networks)


def address_parse(text: str | None) -> Address | None:
    """An address from a header or ``REMOTE_ADDR`` value; ``None`` when it is not one.

    Accepts ``1.2.3.4``, ``1.2.3.4:port``, ``::1`` and ``[::1]:port``; IPv4-mapped IPv6 addresses
    become IPv4, so one client has one spelling."""
    if not text:
        return None
    text = text.strip()
    if text.startswith("["):
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_address(
    *, remote_addr: str | None, forwarded_for: str | None, trusted: Iterable[Network]
) -> str | None:
    """The client's address given the peer, the ``X-Forwarded-For`` value and the trusted
    proxies: the right-most address not in ``trusted`` (the peer itself when it is not trusted).

    When every hop is trusted, the left-most is the client. An unparsable hop ends the walk at
    the last address a trusted proxy vouched for, so garbage cannot smuggle in an address."""
    peer = address_parse(remote_addr)
    if peer is None:
        return None
    trusted = tuple(trusted)

    def is_trusted(address: Address) -> bool:
        return any(address in network for network in trusted)

    if not is_trusted(peer):
        return str(peer)
    client = peer
    for hop in reversed((forwarded_for or "").split(",") if forwarded_for else []):
        address = address_parse(hop)
        if address is None:
            break
        client = address
        if not is_trusted(address):
            break
    return str(client)


def client_ip(request: HttpRequest | None) -> str | None:
    """The address of the client that sent ``request`` (``None`` without a request or peer)."""
    if request is None:
        return None
    return client_address(
        remote_addr=request.META.get("REMOTE_ADDR"),
        forwarded_for=request.META.get("HTTP_X_FORWARDED_FOR"),
        trusted=trusted_networks(tuple(getattr(settings, "TRUSTED_PROXIES", ()))),
    )
