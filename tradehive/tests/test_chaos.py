"""``bench/chaos.py`` in a bounded form: every fault once, under a small load, then its checks.

The bench owns its stores (a throw-away embedded PostgreSQL and redis-server, both crashed and
restarted by the faults) and its processes (uvicorn, two settle shards, Celery worker and beat
under a restart supervisor), so it runs as a child process and never touches the test
database. Its exit status carries the checks: ``ledger_check``, every acknowledged order
accounted for, fills equal to their sums, no engine event applied twice, the engine's books
equal to PostgreSQL's open orders, every process alive."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tradehive.testing.processes import ROOT

pytestmark = pytest.mark.integration


def test_every_fault_recovers_and_nothing_acknowledged_is_lost() -> None:
    # S603: our own interpreter running the project's bench with literal arguments.
    result = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "bench/chaos.py",
            "--traders",
            "4",
            "--seconds-per-fault",
            "4",
            "--no-record",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "RESULT chaos_checks_failed 0" in result.stdout, output[-6000:]
    for fault in ("web", "settle", "worker", "beat", "redis", "postgres"):
        row = next(line for line in result.stdout.splitlines() if line.startswith(f"| {fault} |"))
        assert "never" not in row, row  # its process came back and trading resumed
