"""What the bench scripts share: their PostgreSQL database and their section of
docs/benchmarks.md. Scripts put the project root on ``sys.path`` and import this as
``bench.common``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "docs" / "benchmarks.md"


def postgres_database_ensure(url: str) -> None:
    """Create the PostgreSQL database ``url`` names if it does not exist."""
    import psycopg
    from psycopg import sql

    parts = urlparse(url)
    if parts.scheme not in ("postgres", "postgresql"):
        sys.exit(f"benchmarks measure PostgreSQL: {url!r} is not a postgres:// URL")
    name = parts.path.lstrip("/")
    admin = urlunparse(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def bench_database_url(name: str) -> str:
    """``DATABASE_URL``'s server with the bench's own database ``name`` (created if missing)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("DATABASE_URL must point at a PostgreSQL server (the bench makes its own db)")
    bench_url = urlunparse(urlparse(url)._replace(path=f"/{name}"))
    postgres_database_ensure(bench_url)
    return bench_url


def benchmarks_section_write(heading: str, section: str) -> None:
    """Replace the section under ``heading`` in docs/benchmarks.md (or append it)."""
    content = BENCHMARKS.read_text() if BENCHMARKS.exists() else "# Benchmarks\n"
    start = content.find(heading)
    if start == -1:
        content = content.rstrip("\n") + "\n\n" + section
    else:
        following = content.find("\n## ", start + len(heading))
        content = content[:start] + section + ("" if following == -1 else content[following:])
    BENCHMARKS.write_text(content.rstrip("\n") + "\n")


def stores_reset(database_url: str, redis_url: str) -> None:
    """Create and migrate the bench's own PostgreSQL database, empty every app table (Django's
    bookkeeping kept) and FLUSHDB its Redis db. Sets Django up (settings from the environment)."""
    import django
    import redis
    from django.core.management import call_command
    from django.db import connection

    postgres_database_ensure(database_url)
    django.setup()
    call_command("migrate", verbosity=0)
    keep = {"django_migrations", "django_content_type", "auth_permission"}
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        tables = [name for (name,) in cursor.fetchall() if name not in keep]
        cursor.execute(
            "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"
        )
    redis.Redis.from_url(redis_url).flushdb()


def process_start(
    name: str, command: list[str], logdir: Path, **env: str
) -> subprocess.Popen[bytes]:
    """Start one of the exchange's processes with this environment plus ``env``, its output in
    ``logdir/<name>.log``."""
    return subprocess.Popen(  # noqa: S603 - our own interpreter, literal arguments
        command,
        cwd=ROOT,
        env=dict(os.environ, PYTHONUNBUFFERED="1", DEBUG="0", **env),
        stdout=(logdir / f"{name}.log").open("wb"),
        stderr=subprocess.STDOUT,
    )


def process_stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 15 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
