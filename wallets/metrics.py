"""Wallet metrics read at scrape time: the last scheduled ledger check."""

from __future__ import annotations

import time
from collections.abc import Iterable

from prometheus_client.core import Metric

from tradehive.metrics import gauge
from wallets.verification import ledger_check_last


def collect() -> Iterable[Metric]:
    last = ledger_check_last()
    if last is None:
        return
    yield gauge(
        "tradehive_ledger_check_ok",
        "1 if the last scheduled ledger_check found the ledger balanced, else 0.",
        [({}, last.get("ok", 0))],
    )
    yield gauge(
        "tradehive_ledger_check_problems",
        "Problems the last scheduled ledger_check found.",
        [({}, last.get("problems", 0))],
    )
    yield gauge(
        "tradehive_ledger_check_age_seconds",
        "Seconds since the last scheduled ledger_check.",
        [({}, max(0.0, time.time() - last.get("at", 0)))],
    )
