"""Celery tasks of copy trading: thin wrappers around one service each."""

from __future__ import annotations

from celery import shared_task

from copytrading.mirror import ChunkRef, chunk_mirror, intents_mirror, intents_replay
from copytrading.services import copy_watch, profit_share_settle_all


@shared_task(ignore_result=True)
def mirror_chunk(intent_id: int, number: int) -> int:
    """Mirror one part of a leader fill just settled (dispatched after settlement's commit)."""
    return chunk_mirror(intent_id=intent_id, number=number)


def mirror_chunks_dispatch(chunks: list[ChunkRef]) -> None:
    """The mirror's dispatcher: a task per part, so the parts run side by side."""
    for intent_id, number in chunks:
        mirror_chunk.delay(intent_id, number)


@shared_task(ignore_result=True)
def mirror_intents(intent_ids: list[int]) -> int:
    """Mirror every part left of these intents, one after the other."""
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
