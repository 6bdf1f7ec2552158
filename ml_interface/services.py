"""The analysis gateway: trigger a task, run it, record its life, list tasks, similar files.

- ``trigger_analysis(user, task_type, file, params)`` (the caller found ``file`` through
  ``visible_files(user)``): checks the task type and the file against the registry, creates the
  ``MLTask`` (pending), audits ``ml.trigger`` and, after commit, sends the Celery task named by
  the registry to its queue with the row's ``celery_task_id``; the row becomes ``queued``.
- ``run_analysis(task_id)``: the body of the Celery task: loads the row and calls the handler;
  returns the handler's JSON result. Bookkeeping is not done here but by ``mark_running``,
  ``mark_done`` and ``mark_failed``, which the Celery signal handlers call.
- ``similar_files(user, file, limit)``: see ``handlers.embedding``.
- ``fail_stale_tasks()``: the periodic sweep for tasks a dead worker left ``running``.

Public surface: the functions above and ``QueueUnavailable``.
"""

from __future__ import annotations

import json
import logging
import socket
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from authentication import audit
from background.enqueue import task_named
from file_upload.models import File

from . import registry
from .models import FINISHED_STATUSES, MLTask, TaskStatus
from .registry import AnalysisError

log = logging.getLogger(__name__)
MAX_PARAMS_BYTES = 10_000
ERROR_LIMIT = 1000


class QueueUnavailable(Exception):
    """The broker did not take the task; the row is marked failed."""


def task_types() -> list[dict[str, Any]]:
    """What the gateway offers (for the SPA's Analyse menu and API clients)."""
    return [
        {"task_type": h.task_type, "label": h.label, "description": h.description} for h in registry.handlers().values()
    ]


def _clean_params(params: Any) -> dict[str, Any]:
    if params in (None, ""):
        return {}
    if not isinstance(params, dict):
        raise ValidationError({"params": ["params must be a JSON object."]})
    if len(json.dumps(params)) > MAX_PARAMS_BYTES:
        raise ValidationError({"params": [f"params are limited to {MAX_PARAMS_BYTES} bytes of JSON."]})
    return params


def trigger_analysis(*, user: Any, task_type: str, file: File, params: Any = None) -> MLTask:
    handler = registry.handler_for(task_type)
    if handler is None:
        known = ", ".join(sorted(registry.handlers()))
        raise ValidationError({"task_type": [f"Unknown task type “{task_type}”. Known types: {known}."]})
    params = _clean_params(params)
    reason = handler.accepts(file)
    if reason:
        raise ValidationError({"file_id": [reason]}, code="unsupported_file")
    validate = getattr(handler, "validate_params", None)
    if validate is not None:
        params = validate(params)
    with transaction.atomic():
        task = MLTask.objects.create(task_type=task_type, file=file, submitter=user, params=params)
        audit.record(user, "ml.trigger", file, task=task.id, task_type=task_type, params=params)
    if transaction.get_connection().in_atomic_block:
        # Inside the caller's transaction: send once it commits, so the worker finds the row; a
        # broker failure then only marks the row failed.
        transaction.on_commit(lambda: _send(task, raise_errors=False))
    else:
        _send(task)
    task.refresh_from_db()
    return task


def _send(task: MLTask, raise_errors: bool = True) -> None:
    """Hand the task to the broker under the Celery task id the row holds."""
    from file_project.celery import app

    name = registry.celery_task_for(task.task_type)
    options = {"args": [task.id], "task_id": str(task.celery_task_id), "queue": registry.queue_for(task.task_type)}
    try:
        if name == registry.DEFAULT_CELERY_TASK:
            _local_task().apply_async(**options)
        else:  # a task this code base does not define: a worker elsewhere runs it
            app.send_task(name, **options)
    except Exception as exc:
        log.exception("could not queue analysis task %s", task.id)
        MLTask.objects.filter(id=task.id, status=TaskStatus.PENDING).update(
            status=TaskStatus.FAILED,
            error=f"The task queue is not reachable: {_one_line(exc)}",
            finished_at=timezone.now(),
        )
        if raise_errors:
            raise QueueUnavailable(str(exc)) from exc
        return
    # Conditional: an eager or very fast worker may already have moved the row on.
    MLTask.objects.filter(id=task.id, status=TaskStatus.PENDING).update(status=TaskStatus.QUEUED)


def _local_task() -> Any:
    """The analysis task, looked up by name in the Celery registry (no import of ``tasks``)."""
    return task_named(registry.DEFAULT_CELERY_TASK)


def run_analysis(task_id: int) -> dict[str, Any]:
    """Run the handler for one task (the Celery task's body); returns its JSON result."""
    task = MLTask.objects.select_related("file", "submitter").filter(id=task_id).first()
    if task is None:
        raise AnalysisError(f"Analysis task {task_id} no longer exists.")
    if task.file.deleted_at is not None:
        raise AnalysisError("The file was deleted before it could be analysed.")
    handler = registry.handler_for(task.task_type)
    if handler is None:
        raise AnalysisError(f"No handler for task type “{task.task_type}” on this worker.")
    result = handler.run(task)
    # Round-trip through JSON so what is stored is exactly what the API will show.
    return json.loads(json.dumps(result, default=_json_default))


def _json_default(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


# --- bookkeeping (called by the Celery signal handlers) ----------------------------------------


def _one_line(exc: BaseException | str, limit: int = ERROR_LIMIT) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def mark_running(celery_task_id: str) -> None:
    MLTask.objects.filter(celery_task_id=celery_task_id).exclude(status__in=FINISHED_STATUSES).update(
        status=TaskStatus.RUNNING, started_at=timezone.now(), worker=socket.gethostname()[:255], error=""
    )


def mark_done(celery_task_id: str, result: Any) -> None:
    MLTask.objects.filter(celery_task_id=celery_task_id).update(
        status=TaskStatus.DONE, result=result if isinstance(result, dict) else {"value": result},
        finished_at=timezone.now(), error="",
    )  # fmt: skip


def mark_failed(celery_task_id: str, exc: BaseException | str) -> None:
    """An ``AnalysisError`` carries a message for the user; anything else is named as a crash."""
    if isinstance(exc, BaseException) and not isinstance(exc, AnalysisError):
        message = _one_line(f"The analysis failed unexpectedly: {type(exc).__name__}: {exc}")
    else:
        message = _one_line(exc)
    MLTask.objects.filter(celery_task_id=celery_task_id).update(
        status=TaskStatus.FAILED, error=message, finished_at=timezone.now()
    )


def fail_stale_tasks(older_than: timedelta | None = None) -> list[int]:
    """Mark failed the tasks still ``running`` longer than ``BIOFM_ML_STALE_SECONDS``: their
    worker died (a broker that redelivers runs them again, and the signals then record that run).
    The periodic sweep calls this; returns the ids."""
    if older_than is None:
        older_than = timedelta(seconds=settings.BIOFM_ML_STALE_SECONDS)
    stale = MLTask.objects.filter(status=TaskStatus.RUNNING, started_at__lte=timezone.now() - older_than)
    ids = list(stale.values_list("id", flat=True)[:10000])
    if ids:
        stale.filter(id__in=ids).update(
            status=TaskStatus.FAILED,
            error="The worker running this analysis stopped before it finished; run it again.",
            finished_at=timezone.now(),
        )
        log.warning("marked %d stale analysis tasks failed: %s", len(ids), ids[:20])
    return ids


# --- reading -----------------------------------------------------------------------------------


def similar_files(user: Any, file: File, limit: int = 20) -> dict[str, Any]:
    from .handlers.embedding import rank_similar

    return rank_similar(user, file, limit)
