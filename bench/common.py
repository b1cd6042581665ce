"""What the bench scripts share: their PostgreSQL database and their section of
docs/benchmarks.md. Scripts put the project root on ``sys.path`` and import this as
``bench.common``."""

from __future__ import annotations

import os
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
