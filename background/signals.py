"""Celery signal handlers that write ``BackgroundTask`` rows for every task (paperless-ngx's
pattern): ``before_task_publish`` → queued, ``task_prerun`` → running (one more attempt),
``task_postrun`` → done with a result summary (none for a task marked ``private_result``, whose
return value is data) or retrying, ``task_failure`` → failed with the error. Bookkeeping never
breaks the work: a handler that cannot write logs and returns."""

from __future__ import annotations

import logging
from typing import Any

from celery import signals
from django.db import transaction
from django.db.models import F
from django.utils import timezone

log = logging.getLogger(__name__)

RESULT_CHARS = 500
ERROR_CHARS = 4000


def summary(value: Any, limit: int = RESULT_CHARS) -> str:
    """A short text of a task's return value for the listing."""
    text = "" if value is None else value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _first_arg(args: Any) -> str:
    if isinstance(args, list | tuple) and args:
        return summary(args[0], 64)
    return ""


def _write(what: str, task_id: Any, **fields: Any) -> None:
    from .models import BackgroundTask

    if not task_id:
        return
    try:
        with transaction.atomic():
            updated = BackgroundTask.objects.filter(task_id=str(task_id)).update(**fields)
            if not updated:
                create = {k: v for k, v in fields.items() if not hasattr(v, "resolve_expression")}
                if "attempts" in fields:
                    create["attempts"] = 1
                BackgroundTask.objects.create(task_id=str(task_id), **create)
    except Exception:  # no database (a process without one) or a lost race: the work goes on
        log.warning("could not record %s of task %s", what, task_id, exc_info=True)


@signals.before_task_publish.connect(dispatch_uid="background.publish")
def on_publish(sender: Any = None, headers: Any = None, body: Any = None, **kwargs: Any) -> None:
    headers = headers or {}
    args = (
        body[0]
        if isinstance(body, list | tuple) and body
        else (body or {}).get("args")
        if isinstance(body, dict)
        else None
    )
    _write(
        "publish",
        headers.get("id"),
        name=str(sender or headers.get("task") or ""),
        object_id=_first_arg(args),
        state="queued",
        queued_at=timezone.now(),
    )


@signals.task_prerun.connect(dispatch_uid="background.prerun")
def on_prerun(sender: Any = None, task_id: Any = None, task: Any = None, args: Any = None, **kwargs: Any) -> None:
    _write(
        "start",
        task_id,
        name=str(getattr(task, "name", "") or sender or ""),
        object_id=_first_arg(args),
        state="running",
        started_at=timezone.now(),
        finished_at=None,
        attempts=F("attempts") + 1,
    )


@signals.task_postrun.connect(dispatch_uid="background.postrun")
def on_postrun(sender: Any = None, task_id: Any = None, retval: Any = None, state: Any = None, **kwargs: Any) -> None:
    if state == "SUCCESS":
        # A task whose return value is data (an analysis's findings, read by its submitter
        # through the gate) declares ``private_result``: staff read this record, and see data
        # only as any other user would.
        result = "" if getattr(kwargs.get("task") or sender, "private_result", False) else summary(retval)
        _write("success", task_id, state="done", finished_at=timezone.now(), result=result, error="")
    elif state == "RETRY":
        _write("retry", task_id, state="retrying", error=summary(retval, ERROR_CHARS))


@signals.task_failure.connect(dispatch_uid="background.failure")
def on_failure(sender: Any = None, task_id: Any = None, exception: BaseException | None = None, **kwargs: Any) -> None:
    error = f"{type(exception).__name__}: {exception}" if exception is not None else "unknown error"
    _write("failure", task_id, state="failed", finished_at=timezone.now(), error=summary(error, ERROR_CHARS))
