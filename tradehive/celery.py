"""The Celery app: broker and result backend on Redis, tasks discovered in every app.

Every task's run time and outcome are Prometheus metrics (``tradehive.metrics``), counted in
whichever worker ran it."""

import os
import time
from typing import Any

from celery import Celery
from celery.signals import task_failure, task_postrun, task_prerun
from prometheus_client import Counter, Histogram

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradehive.settings.dev")

app = Celery("tradehive")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

TASK_SECONDS = Histogram(
    "tradehive_celery_task_duration_seconds",
    "Celery task run time by task and final state.",
    ["task", "state"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0),
)
TASK_FAILURES = Counter(
    "tradehive_celery_task_failures_total", "Celery tasks that raised, by task.", ["task"]
)
_started: dict[str, float] = {}


@task_prerun.connect
def _task_started(task_id: str | None = None, **_: Any) -> None:
    if task_id:
        _started[task_id] = time.perf_counter()


@task_postrun.connect
def _task_finished(
    task_id: str | None = None, task: Any = None, state: str | None = None, **_: Any
) -> None:
    began = _started.pop(task_id or "", None)
    if began is not None and task is not None:
        TASK_SECONDS.labels(task=task.name, state=state or "UNKNOWN").observe(
            time.perf_counter() - began
        )


@task_failure.connect
def _task_failed(sender: Any = None, **_: Any) -> None:
    TASK_FAILURES.labels(task=getattr(sender, "name", "unknown")).inc()
