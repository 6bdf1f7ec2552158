"""Celery task metrics (``biofm_tasks_total``, ``biofm_task_seconds``), counted by signal
handlers in whichever process runs the task; imported by the Celery app and by ``metrics``."""

from __future__ import annotations

import time
from typing import Any

from celery import signals
from prometheus_client import Counter, Histogram

TASKS = Counter("biofm_tasks", "Celery tasks finished, by task and outcome", ["task", "outcome"])
TASK_SECONDS = Histogram(
    "biofm_task_seconds", "Celery task run time", ["task"], buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600)
)
_started: dict[str, float] = {}


@signals.task_prerun.connect(weak=False, dispatch_uid="biofm_task_prerun")
def _prerun(task_id: str = "", **kwargs: Any) -> None:
    _started[task_id] = time.monotonic()


@signals.task_postrun.connect(weak=False, dispatch_uid="biofm_task_postrun")
def _postrun(task_id: str = "", task: Any = None, state: str | None = None, **kwargs: Any) -> None:
    name = getattr(task, "name", None) or "unknown"
    started = _started.pop(task_id, None)
    if started is not None:
        TASK_SECONDS.labels(task=name).observe(time.monotonic() - started)
    TASKS.labels(task=name, outcome=(state or "unknown").lower()).inc()
