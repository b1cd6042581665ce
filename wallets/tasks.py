"""Celery tasks of wallets: thin wrappers around one service each."""

from celery import shared_task

from wallets.verification import ledger_check_record


@shared_task(ignore_result=True)
def ledger_check() -> int:
    """Verify the ledger's invariants (beat, ``LEDGER_CHECK_INTERVAL_S``); the number of
    problems, 0 when it balances. The result is kept for ``/metrics``."""
    return ledger_check_record()
