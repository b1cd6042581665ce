"""Reads of public market data and rankings from a PostgreSQL streaming replica.

With ``DATABASE_REPLICA_URL`` set, settings add a ``replica`` database alias and this router.
Only reads that are marked with ``reads_replica`` go to the replica, and only when all of these
hold (else they read the primary, ``default``):

- no transaction is open on the primary in this thread (a transaction sees its own snapshot);
- this context (a request, a task, a loop) ran no write on the primary in the last
  ``DATABASE_REPLICA_PIN_S`` seconds (read-your-writes: the window is longer than the lag the
  replica may have, so a write is replayed there before the pin ends);
- the replica answers and its replay lag is at most ``DATABASE_REPLICA_MAX_LAG_S``;
- the replica was not found unreachable in the last ``DATABASE_REPLICA_RETRY_S`` seconds.

Every write, every unmarked read and every migration uses the primary. A replica that cannot be
reached is a WARNING log line and ``tradehive_db_replica_fallback_reads_total``, never an error:
the marked reads run on the primary. ``@reads_replica`` (the decorator) also reruns its function
on the primary when the replica fails in the middle of it, so it marks pure reads only;
``with reads_replica():`` routes the same way but cannot rerun a block.

Writes are noticed by an execute wrapper on the primary's connections (any statement that is not
a SELECT/SHOW), so raw SQL through ``tradehive.sql`` cursors counts as well as the ORM's.
docs/scaling.md "PostgreSQL: primary and read replica" has the lag budget."""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ParamSpec, TypeVar, overload

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, InterfaceError, OperationalError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.db.models import Model
from prometheus_client import Counter, Gauge

logger = logging.getLogger(__name__)

PRIMARY = DEFAULT_DB_ALIAS
REPLICA = "replica"

# Replay lag: 0 when everything received is replayed, else the age of the last replayed
# transaction. Comparing LSNs first keeps an idle but caught-up replica at 0 (the age of its
# last transaction grows while nothing is written); ``<=``: after a restart the receiver starts
# at its segment's beginning, behind what is replayed. A standby whose receiver is not
# connected yet (NULL) counts as lagging by that age. Not in recovery at all (a promoted
# replica, or a URL that names a primary): 0.
LAG_SQL = (
    "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0"
    " WHEN pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN 0"
    " ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END::float8"
)
# The replica's lag is read at most this often per process.
LAG_CHECK_INTERVAL_S = 1.0

FALLBACK_READS = Counter(
    "tradehive_db_replica_fallback_reads_total",
    "Reads marked for the replica that ran on the primary: the replica unreachable, lagging, "
    "or failing in the middle of a read.",
    ["reason"],
)
REPLICA_LAG = Gauge(
    "tradehive_db_replica_lag_seconds",
    "The replica's replay lag as last read by this process.",
    multiprocess_mode="livemax",
)


@dataclass
class _Scope:
    used_replica: bool = False  # a read of this scope went to the replica
    primary_only: bool = False  # rerunning on the primary after the replica failed


_scope: ContextVar[_Scope | None] = ContextVar("tradehive_replica_scope", default=None)
_last_write: ContextVar[float] = ContextVar("tradehive_primary_last_write", default=-math.inf)


class _ReplicaHealth:
    """What this process knows of the replica (shared by its threads)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.down_until = -math.inf
        self.lag_s = 0.0
        self.lag_read_at = -math.inf
        self.lagging = False  # for logging the transitions only

    def reset(self) -> None:
        with self.lock:
            self.down_until = -math.inf
            self.lag_s, self.lag_read_at, self.lagging = 0.0, -math.inf, False


health = _ReplicaHealth()


def replica_configured() -> bool:
    """Whether a replica is configured (settings then define the ``replica`` alias)."""
    return bool(settings.DATABASE_REPLICA_URL)


def _is_read(sql: Any) -> bool:
    if not isinstance(sql, str):
        return False  # composed statements: counted as writes (a pin costs a primary read only)
    head = sql.lstrip(" \t\r\n(")[:6].upper()
    return head.startswith(("SELECT", "SHOW"))


def _note_writes(
    execute: Callable[..., Any], sql: Any, params: Any, many: bool, context: Any
) -> Any:
    """Execute wrapper of the primary's connections: remember when this context wrote."""
    if not _is_read(sql):
        _last_write.set(time.monotonic())
    return execute(sql, params, many, context)


def _watch_writes(connection: BaseDatabaseWrapper) -> None:
    if connection.alias == PRIMARY and _note_writes not in connection.execute_wrappers:
        connection.execute_wrappers.append(_note_writes)


def _on_connection_created(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    _watch_writes(connection)


def primary_writes_watch() -> None:
    """Notice writes on every primary connection from now on (the router does this when a
    replica is configured): new connections, and the one this thread may have open."""
    connection_created.connect(_on_connection_created, dispatch_uid="tradehive_primary_writes")
    _watch_writes(connections[PRIMARY])


def primary_written_recently() -> bool:
    """Whether this context wrote on the primary within the read-your-writes window."""
    return time.monotonic() - _last_write.get() < settings.DATABASE_REPLICA_PIN_S


def _replica_failed(reason: str, error: BaseException) -> None:
    """Mark the replica down for ``DATABASE_REPLICA_RETRY_S`` and drop this thread's
    connection to it."""
    retry_s = settings.DATABASE_REPLICA_RETRY_S
    with health.lock:
        health.down_until = time.monotonic() + retry_s
        health.lag_read_at = -math.inf  # read the lag again when it is back
    logger.warning(
        "database replica %s (%s): marked reads use the primary for %.0f s",
        reason,
        str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__,
        retry_s,
    )
    with contextlib.suppress(DatabaseError):  # already broken: the pool discards it
        connections[REPLICA].close()


def _replica_lag() -> float:
    """The replica's replay lag (s), read at most every ``LAG_CHECK_INTERVAL_S`` per process.
    Raises ``DatabaseError`` when the replica does not answer."""
    now = time.monotonic()
    if now - health.lag_read_at < LAG_CHECK_INTERVAL_S:
        return health.lag_s
    with connections[REPLICA].cursor() as cursor:
        cursor.execute(LAG_SQL)
        (lag,) = cursor.fetchone()
    with health.lock:
        health.lag_s, health.lag_read_at = float(lag), now
    REPLICA_LAG.set(float(lag))
    return float(lag)


def _replica_usable() -> bool:
    """Whether a marked read may go to the replica now: reachable, and lagging at most
    ``DATABASE_REPLICA_MAX_LAG_S``.

    Once a down replica's retry delay has passed, one thread tries it while the others keep
    reading the primary (its retry delay is pushed on while it tries), so a replica still down
    costs one connection attempt per delay, not one per thread."""
    now = time.monotonic()
    with health.lock:
        if now < health.down_until:
            probing = None
        else:
            probing = health.down_until > -math.inf  # it was down: this thread tries it
            if probing:
                health.down_until = now + settings.DATABASE_REPLICA_RETRY_S
    if probing is None:
        FALLBACK_READS.labels(reason="down").inc()
        return False
    try:
        connections[REPLICA].ensure_connection()
        lag = _replica_lag()
    except DatabaseError as error:
        _replica_failed("unreachable", error)
        FALLBACK_READS.labels(reason="down").inc()
        return False
    if probing:
        with health.lock:
            health.down_until = -math.inf
        logger.info("database replica reachable again: marked reads use it")
    max_lag = settings.DATABASE_REPLICA_MAX_LAG_S
    lagging = lag > max_lag
    if lagging != health.lagging:
        health.lagging = lagging
        if lagging:
            logger.warning(
                "database replica lags %.1f s (> %.1f s): marked reads use the primary",
                lag,
                max_lag,
            )
        else:
            logger.info("database replica caught up (lag %.1f s): marked reads use it", lag)
    if lagging:
        FALLBACK_READS.labels(reason="lag").inc()
        return False
    return True


def replica_report() -> tuple[str | None, float | None]:
    """(state, lag in s) for ``/healthz``: (None, None) without a replica, else ``ok``,
    ``lagging`` (above ``DATABASE_REPLICA_MAX_LAG_S``) or ``down`` (lag None). Read now, not
    from the router's cached view; a failure here changes nothing in the routing."""
    if not replica_configured():
        return None, None
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(LAG_SQL)
            lag = float(cursor.fetchone()[0])
    except DatabaseError:
        logger.warning("health: database replica unreachable", exc_info=True)
        return "down", None
    return ("lagging" if lag > settings.DATABASE_REPLICA_MAX_LAG_S else "ok"), round(lag, 3)


class PrimaryReplicaRouter:
    """Django's database router (``DATABASE_ROUTERS``): the rules of the module docstring."""

    def __init__(self) -> None:
        if replica_configured():
            primary_writes_watch()

    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        scope = _scope.get()
        if scope is None or scope.primary_only or not replica_configured():
            return PRIMARY
        instance = hints.get("instance")
        if instance is not None and instance._state.db:
            return str(instance._state.db)  # relations of a row come from where the row did
        if connections[PRIMARY].in_atomic_block or primary_written_recently():
            return PRIMARY
        if not _replica_usable():
            return PRIMARY
        scope.used_replica = True
        return REPLICA

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        return PRIMARY

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool:
        return True  # one database: the replica is a copy of the primary

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == PRIMARY


def read_alias(model: type[Model]) -> str:
    """The alias a raw-SQL read of ``model``'s tables should use (``connections[...]``):
    what the router answers, so raw reads follow the same rules as the ORM's."""
    from django.db import router

    return str(router.db_for_read(model))


class _ReplicaBlock:
    """``with reads_replica():``: marked reads inside go to the replica when it is usable;
    ``with reads_primary():``: none do."""

    def __init__(self, *, primary_only: bool = False) -> None:
        self._primary_only = primary_only

    def __enter__(self) -> _Scope:
        scope = _Scope(primary_only=self._primary_only)
        self._token = _scope.set(scope)
        return scope

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        _scope.reset(self._token)


P = ParamSpec("P")
R = TypeVar("R")


@overload
def reads_replica() -> _ReplicaBlock: ...
@overload
def reads_replica(func: Callable[P, R]) -> Callable[P, R]: ...
def reads_replica(func: Callable[P, R] | None = None) -> _ReplicaBlock | Callable[P, R]:
    """Mark reads as fit for the replica: ``@reads_replica`` on a function (a selector or a
    view's handler that only reads), or ``with reads_replica():`` around a block.

    The decorated function is run once more on the primary if the replica fails while it runs
    (an ``OperationalError``/``InterfaceError`` after a read went to the replica): it must
    have no side effects."""
    if func is None:
        return _ReplicaBlock()

    @functools.wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with _ReplicaBlock() as scope:
            try:
                return func(*args, **kwargs)
            except (OperationalError, InterfaceError) as error:
                if not scope.used_replica:
                    raise
                _replica_failed("failed during a read", error)
                FALLBACK_READS.labels(reason="error").inc()
                scope.primary_only = True
                return func(*args, **kwargs)

    return run


def reads_primary() -> _ReplicaBlock:
    """``with reads_primary():``: the reads inside use the primary, even within a
    ``reads_replica`` read. For values computed to be kept beyond the request (a cache):
    they must not carry the replica's lag past it."""
    return _ReplicaBlock(primary_only=True)
