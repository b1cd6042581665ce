"""The process-wide Redis client for engine, price windows, caches of market data and locks.

It connects to ``settings.ENGINE_REDIS_URL`` (``REDIS_URL`` unless set): a plain Redis, or, for
``redis+cluster://host:port[,host:port...]``, a Redis Cluster through redis-py's ``RedisCluster``
(docs/scaling.md). Code using it keeps every script call and multi-key command inside one hash
tag (``{SYMBOL}`` for a market, ``{login}``, ``{budgets}``) so that it runs on either."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, cast
from urllib.parse import unquote

import redis
from django.conf import settings
from redis.cluster import ClusterNode, RedisCluster

CLUSTER_SCHEMES = ("redis+cluster://", "rediss+cluster://")


def is_cluster_url(url: str) -> bool:
    return url.startswith(CLUSTER_SCHEMES)


def cluster_nodes(url: str) -> tuple[list[ClusterNode], dict[str, Any]]:
    """The startup nodes and connection options of ``redis+cluster://[user:password@]h:p,h:p``.

    A cluster has no databases, so a path (``/0``) is refused rather than silently ignored."""
    scheme, rest = url.split("://", 1)
    options: dict[str, Any] = {"ssl": scheme == "rediss+cluster"}
    rest = rest.split("?", 1)[0]
    if "@" in rest:
        credentials, rest = rest.rsplit("@", 1)
        username, _, password = credentials.partition(":")
        options["username"] = unquote(username) or None
        options["password"] = unquote(password) or None
    netloc, _, path = rest.partition("/")
    if path.strip("/") not in ("", "0"):
        raise ValueError(f"a Redis Cluster has only database 0, not {path!r}")
    nodes = []
    for address in netloc.split(","):
        host, _, port = address.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"not host:port in a cluster URL: {address!r}")
        nodes.append(ClusterNode(host.strip("[]"), int(port)))
    return nodes, options


def redis_from_url(url: str, **options: Any) -> redis.Redis:
    """A client on ``url``: ``redis.Redis`` or, for a ``redis+cluster://`` URL, ``RedisCluster``.

    Typed as ``redis.Redis``: ``RedisCluster`` offers the same commands, which route by key
    (MULTI/EXEC pipelines and commands whose keys span slots it refuses; callers avoid them)."""
    if not is_cluster_url(url):
        return redis.Redis.from_url(url, **options)
    nodes, url_options = cluster_nodes(url)
    options.pop("health_check_interval", None)  # per connection; RedisCluster re-discovers instead
    return cast(redis.Redis, RedisCluster(startup_nodes=nodes, **url_options, **options))


def is_cluster(client: object) -> bool:
    return isinstance(client, RedisCluster)


@lru_cache(maxsize=1)
def get_redis() -> redis.Redis:
    """A thread-safe pooled client on ``settings.ENGINE_REDIS_URL`` (strings decoded as UTF-8)."""
    return redis_from_url(
        settings.ENGINE_REDIS_URL,
        decode_responses=True,
        health_check_interval=30,
        socket_connect_timeout=2,
        socket_timeout=5,
    )
