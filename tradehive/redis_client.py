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
from redis.cluster import ClusterNode, ClusterPipeline, RedisCluster
from redis.exceptions import RedisClusterException

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


class _KeysFromArguments:
    """Routes FCALL and XREAD/XREADGROUP by the keys in their arguments.

    redis-py finds an EVALSHA's keys itself but, for commands whose keys move (FCALL, the
    stream reads), asks a server with ``COMMAND GETKEYS`` first: one more round trip for every
    engine call, which halved the engine's throughput on the cluster (bench/scale.py)."""

    def determine_slot(self, *args: Any) -> int:
        name = str(args[0]).upper()
        if name in ("FCALL", "FCALL_RO") and len(args) > 3 and int(args[2]) > 0:
            return super().determine_slot("EVALSHA", *args[1:])  # type: ignore[misc]
        if name in ("XREAD", "XREADGROUP"):
            words = [str(arg).upper() for arg in args]
            if "STREAMS" in words:
                start = words.index("STREAMS") + 1
                keys = args[start : start + (len(args) - start) // 2]
                slots = {self.keyslot(key) for key in keys}  # type: ignore[attr-defined]
                if len(slots) != 1:
                    raise RedisClusterException(f"{name} - all keys must map to the same key slot")
                return slots.pop()
        return super().determine_slot(*args)  # type: ignore[misc]


class TagRoutedClusterPipeline(_KeysFromArguments, ClusterPipeline):
    pass


class TagRoutedCluster(_KeysFromArguments, RedisCluster):
    """``RedisCluster`` whose engine calls and stream reads go straight to their slot's node."""

    def pipeline(self, transaction: Any = None, shard_hint: Any = None) -> ClusterPipeline:
        if transaction or shard_hint:
            return super().pipeline(transaction, shard_hint)  # raises as RedisCluster does
        # As RedisCluster.pipeline (redis-py 5.2), with this class's routing.
        return TagRoutedClusterPipeline(
            nodes_manager=self.nodes_manager,
            commands_parser=self.commands_parser,
            startup_nodes=self.nodes_manager.startup_nodes,
            result_callbacks=self.result_callbacks,
            cluster_response_callbacks=self.cluster_response_callbacks,
            cluster_error_retry_attempts=self.cluster_error_retry_attempts,
            read_from_replicas=self.read_from_replicas,
            reinitialize_steps=self.reinitialize_steps,
            lock=self._lock,
        )


def redis_from_url(url: str, **options: Any) -> redis.Redis:
    """A client on ``url``: ``redis.Redis`` or, for a ``redis+cluster://`` URL, ``RedisCluster``.

    Typed as ``redis.Redis``: ``RedisCluster`` offers the same commands, which route by key
    (MULTI/EXEC pipelines and commands whose keys span slots it refuses; callers avoid them)."""
    if not is_cluster_url(url):
        return redis.Redis.from_url(url, **options)
    nodes, url_options = cluster_nodes(url)
    options.pop("health_check_interval", None)  # per connection; RedisCluster re-discovers instead
    return cast(redis.Redis, TagRoutedCluster(startup_nodes=nodes, **url_options, **options))


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
