"""``manage.py rebuild_rankings``: recompute every ranking from fills and the ledger."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from rankings.services import rankings_rebuild


class Command(BaseCommand):
    help = "Rebuild the rankings tables from scratch (fills and the wallets ledger)."

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        rankings_rebuild()
        self.stdout.write(f"rankings rebuilt in {time.perf_counter() - started:.2f} s")
