"""Send a Celery task by its registered name: the one way Logic queues background work.

``enqueue(name, *args)`` looks the task up in the Celery app's registry (which imports every
app's ``tasks`` module), so a service names the task instead of importing it: no services ↔
tasks import cycles. A task this code base does not define (a worker elsewhere consumes it) is
sent by name. A broker that is down never fails the write that queued the work: the error is
logged, ``on_error`` (if given) records it, and the sweeper's stale rules queue it again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction

log = logging.getLogger(__name__)


def task_named(name: str) -> Any:
    """The task registered under ``name``, or None when this code base defines none. The web
    process imports the apps' ``tasks`` modules on first use (a worker does so at start)."""
    from file_project.celery import app

    task = app.tasks.get(name)
    if task is None:
        app.loader.import_default_modules()  # Celery's autodiscovery of every app's tasks module
        task = app.tasks.get(name)
    return task


def enqueue(name: str, *args: Any, on_error: Callable[[Exception], None] | None = None, **options: Any) -> bool:
    """Send task ``name`` with ``args`` (primary keys) now; False (logged) when the broker refused it."""
    from file_project.celery import app

    try:
        task = task_named(name)
        if task is None:
            app.send_task(name, args=list(args), **options)
        elif options:
            task.apply_async(args=list(args), **options)
        else:
            task.delay(*args)
    except Exception as exc:  # the broker being down must not fail work that is already saved
        log.exception("could not queue %s%r; the sweep queues it again or it stays pending", name, args)
        if on_error is not None:
            on_error(exc)
        return False
    return True


def enqueue_on_commit(name: str, *args: Any, on_error: Callable[[Exception], None] | None = None) -> None:
    """``enqueue`` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: enqueue(name, *args, on_error=on_error))
