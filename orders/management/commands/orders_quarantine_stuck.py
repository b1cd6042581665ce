"""``python manage.py orders_quarantine_stuck``: reject the pending orders the engine can never
take and release their holds (``orders.quarantine.orders_stuck_quarantine``); migration
``orders.0005`` runs it once. Safe to run again at any time."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from orders.quarantine import orders_stuck_quarantine


class Command(BaseCommand):
    help = (
        "Quarantine pending orders the matching engine can never take: reject them and "
        "release their holds through the ledger."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        quarantined = orders_stuck_quarantine()
        for order_id in quarantined:
            self.stdout.write(f"order {order_id}: rejected, hold released")
        self.stdout.write(f"orders_quarantine_stuck: {len(quarantined)} order(s) quarantined")
