"""Celery tasks of copy trading: thin wrappers around one service each."""

from __future__ import annotations

from celery import shared_task

from copytrading.mirror import intents_mirror, intents_replay
from copytrading.services import copy_watch, profit_share_settle_all


@shared_task(ignore_result=True)
def mirror_intents(intent_ids: list[int]) -> int:
    """Mirror leader fills just settled (dispatched after settlement's commit)."""
    return intents_mirror(intent_ids=intent_ids)


@shared_task(ignore_result=True)
def replay_intents() -> int:
    """Dispatch intents a crash left pending (beat)."""
    return intents_replay()


@shared_task(ignore_result=True)
def watch_subscriptions() -> int:
    """Stop-losses and the end of closing subscriptions (beat)."""
    return copy_watch()


@shared_task(ignore_result=True)
def settle_profit_share() -> int:
    """The periodic profit-share settlement (beat, ``COPY_PROFIT_SHARE_EVERY_S``)."""
    return profit_share_settle_all()
