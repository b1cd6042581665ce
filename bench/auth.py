"""Benchmark of the accounts hot paths, in process (no HTTP server), single-threaded:

- sign-in (POST /api/v1/auth/token): dominated by the password hasher, on purpose;
- token refresh (rotation: row lock, blacklist insert, new outstanding token);
- an authenticated request (GET /api/v1/auth/me): the JWT check every REST call pays.

Run against a migrated database: ``DATABASE_URL=... REDIS_URL=... .venv/bin/python bench/auth.py``.
It reuses one user, ``bench_auth`` (never deleted: ledger and orders may point at users), and
removes the tokens and audit rows it made."""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradehive.settings.dev")
os.environ.setdefault("DEBUG", "0")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken  # noqa: E402

from accounts.models import AuditEvent, User  # noqa: E402
from accounts.services import user_create  # noqa: E402

PASSWORD = "bench password for sign-in 1"  # noqa: S105 - a throw-away bench user


def measure(runs: int, step: Callable[[], None]) -> tuple[float, float, float]:
    """p50 and p95 latency in ms and operations per second."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        step()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    p95 = samples[int(len(samples) * 0.95) - 1]
    return statistics.median(samples), p95, 1000 * len(samples) / sum(samples)


def main() -> None:
    username = "bench_auth"
    user = User.objects.filter(username=username).first() or user_create(
        username=username, email=f"{username}@bench.invalid", password=PASSWORD
    )
    client = APIClient(SERVER_NAME="localhost")
    try:

        def sign_in() -> None:
            response = client.post(
                "/api/v1/auth/token", {"username": username, "password": PASSWORD}, format="json"
            )
            assert response.status_code == 200, response.content

        refresh = client.post(
            "/api/v1/auth/token", {"username": username, "password": PASSWORD}, format="json"
        ).json()["refresh"]

        def rotate() -> None:
            nonlocal refresh
            response = client.post(
                "/api/v1/auth/token/refresh", {"refresh": refresh}, format="json"
            )
            assert response.status_code == 200, response.content
            refresh = response.json()["refresh"]

        access = client.post(
            "/api/v1/auth/token/refresh", {"refresh": refresh}, format="json"
        ).json()
        refresh = access["refresh"]
        me_client = APIClient(SERVER_NAME="localhost")
        me_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access['access']}")

        def me() -> None:
            assert me_client.get("/api/v1/auth/me").status_code == 200

        rows = [
            ("sign-in (token)", *measure(40, sign_in)),
            ("token refresh", *measure(300, rotate)),
            ("GET me with JWT", *measure(1000, me)),
        ]
    finally:
        AuditEvent.objects.filter(user=user).delete()
        OutstandingToken.objects.filter(user=user).delete()  # cascades to the blacklist rows

    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    hasher = settings.PASSWORD_HASHERS[0].rsplit(".", 1)[-1]
    lines = [
        "## auth (bench/auth.py)",
        "",
        f"In process, one thread, {engine}, {hasher}. Latency in ms.",
        "",
        "| operation | p50 ms | p95 ms | ops/s |",
        "|---|---|---|---|",
    ]
    lines += [f"| {name} | {p50:.2f} | {p95:.2f} | {rate:.0f} |" for name, p50, p95, rate in rows]
    table = "\n".join(lines)
    print(table)

    doc = ROOT / "docs" / "benchmarks.md"
    text = doc.read_text()
    start = text.find("## auth (bench/auth.py)")
    if start != -1:
        end = text.find("\n## ", start + 1)
        text = text[:start].rstrip("\n") + ("\n" + text[end:] if end != -1 else "")
    doc.write_text(text.rstrip("\n") + "\n\n" + table + "\n")
    print(f"RESULT auth_me_p50 {rows[2][1]:.2f} ms")


if __name__ == "__main__":
    main()
