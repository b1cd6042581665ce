"""``python manage.py ledger_check``: verify the ledger's invariants (see
``wallets.verification.ledger_verify``), print a summary per asset, exit 1 on any problem."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from wallets.verification import ledger_summary, ledger_verify


class Command(BaseCommand):
    help = "Verify that the ledger balances: entries sum to zero, balances match, holds match."

    def handle(self, *args: Any, **options: Any) -> None:
        header = (
            f"{'asset':<6} {'entries':>9} {'entries sum':>12} {'users available':>26} "
            f"{'users locked':>26} {'fee':>22} {'house':>22} {'external':>26}"
        )
        self.stdout.write(header)
        for row in ledger_summary():
            self.stdout.write(
                f"{row.symbol:<6} {row.entries:>9} {row.entries_sum.normalize():>12f} "
                f"{row.users_available.normalize():>26f} {row.users_locked.normalize():>26f} "
                f"{row.fee.normalize():>22f} {row.house.normalize():>22f} "
                f"{row.external.normalize():>26f}"
            )
        problems = ledger_verify()
        for problem in problems:
            self.stderr.write(str(problem))
        if problems:
            raise CommandError(f"ledger_check: {len(problems)} problem(s)")
        self.stdout.write(self.style.SUCCESS("ledger_check: OK"))
