"""Celery tasks of orders: thin wrappers around one service each."""

from celery import shared_task

from orders.relay import outbox_relay


@shared_task(ignore_result=True, expires=5)
def relay_outbox() -> int:
    """Re-submit committed orders the engine has not acknowledged (beat, every second)."""
    return outbox_relay()
