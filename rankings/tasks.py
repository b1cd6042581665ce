"""Celery tasks of the rankings (the beat schedule runs ``refresh_rankings``)."""

from __future__ import annotations

from celery import shared_task

from rankings.services import rankings_refresh


@shared_task(ignore_result=True)
def refresh_rankings() -> None:
    rankings_refresh()
