"""The real Celery worker (queue ``feeds``) and Celery beat, run for a few seconds against the
test database and Redis: the measured cadence per market is at least 4 polls/s and 2 matching
passes/s, and a resting order crossed by the simulated price is filled and settled."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from feeds.cadence import cadence_measure
from markets.services import pair_create
from settlement.recovery import engine_recover
from tradehive.launcher import process_table
from tradehive.testing.processes import database_url_of_tests
from wallets.models import Asset

ROOT = Path(__file__).resolve().parents[2]
WARM_UP_S = 6.0
MEASURE_S = 5.0


def _start(command: list[str], tmp_path: Path, name: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tradehive.settings.dev",
        "DATABASE_URL": database_url_of_tests(),
        "REDIS_URL": settings.REDIS_URL,
        "DEBUG": "0",
    }
    log = (tmp_path / f"{name}.log").open("wb")
    return subprocess.Popen(  # noqa: S603 - our own binary and literal arguments
        command,
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_beat_and_worker_keep_4_polls_and_2_passes_per_second_per_market(
    xrp_krw, redis_client, tmp_path, monkeypatch
) -> None:
    # given three sim-priced markets with engine state
    assets = {a.symbol: a for a in Asset.objects.all()}
    symbols = ["XRP-KRW"]
    for base in ("BTC", "ETH"):
        pair = pair_create(
            base=assets[base],
            quote=assets["KRW"],
            tick_size=Decimal(1000),
            lot_size=Decimal("0.001"),
            price_source="sim",
            actor=None,
        )
        engine_recover(pair=pair)
        symbols.append(pair.symbol)
    # when the real worker and beat run
    # (the commands make run starts: tradehive.launcher's process table)
    monkeypatch.setenv("TRADEHIVE_VAR_DIR", str(tmp_path))  # beat's schedule file
    table = process_table(port=0)
    processes = [_start(table[name], tmp_path, name) for name in ("feeds", "feeds-match", "beat")]
    try:
        time.sleep(WARM_UP_S)
        for process in processes:
            assert process.poll() is None, (tmp_path / "feeds.log").read_text()[-2000:]
        cadence = cadence_measure(client=redis_client, symbols=symbols, seconds=MEASURE_S)
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
    # then every market saw at least 4 polls and 2 matching passes a second
    print(cadence.table())  # noqa: T201 - the measured cadence is the point of this test
    for symbol in symbols:
        assert cadence.polls_per_s[symbol] >= 4.0, cadence.table()
        assert cadence.passes_per_s[symbol] >= 2.0, cadence.table()
