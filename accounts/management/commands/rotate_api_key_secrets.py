"""Re-encrypt every stored API-key secret under the newest ``API_KEY_ENCRYPTION_KEYS`` key.

Rotation: put the new key first in API_KEY_ENCRYPTION_KEYS (keep the old ones after it), restart,
run this, then drop the old keys. Rows no configured key can read are counted and left alone."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.key_vault import VaultError, secret_rotate
from accounts.models import ApiKey


class Command(BaseCommand):
    help = "Re-encrypt API-key secrets under the newest API_KEY_ENCRYPTION_KEYS key."

    def handle(self, *args: Any, **options: Any) -> None:
        rotated = unreadable = 0
        with transaction.atomic():
            for key in ApiKey.objects.select_for_update().only("pk", "secret_encrypted"):
                try:
                    key.secret_encrypted = secret_rotate(key.secret_encrypted)
                except VaultError:
                    unreadable += 1
                    continue
                key.save(update_fields=["secret_encrypted"])
                rotated += 1
        self.stdout.write(f"rotated {rotated} secret(s); {unreadable} unreadable")
