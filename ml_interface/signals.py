"""Celery signal handlers that keep ``MLTask`` rows up to date (as paperless-ngx does for its
tasks): prerun → running, postrun with success → done + result, failure → failed + error.

They match rows by the Celery task id the gateway chose, so they also record tasks that run
under another task name (a handler whose ``celery_task`` points at a worker elsewhere that runs
this code base). Any other Celery task is ignored after one indexed lookup.

It also answers the workspace's signals (``file_upload.signals``): ``file_purging`` (the cell
embeddings stored for the file go with it) and ``cell_layouts_wanted`` (the stored layouts, for
the cellxgene publication)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from celery import signals
from django.conf import settings
from django.dispatch import receiver

from file_upload.models import File
from file_upload.signals import PurgePath, cell_layouts_wanted, file_purging

from . import services

log = logging.getLogger(__name__)


def _ours(task_id: Any) -> str | None:
    from .models import MLTask

    if not task_id:
        return None
    try:
        return str(task_id) if MLTask.objects.filter(celery_task_id=str(task_id)).exists() else None
    except Exception:  # a task id that is not a UUID, or no database: not one of ours
        return None


@signals.task_prerun.connect(dispatch_uid="ml_interface.prerun")
def on_prerun(sender: Any = None, task_id: Any = None, **kwargs: Any) -> None:
    if ours := _ours(task_id):
        services.mark_running(ours)


@signals.task_postrun.connect(dispatch_uid="ml_interface.postrun")
def on_postrun(sender: Any = None, task_id: Any = None, retval: Any = None, state: Any = None, **kwargs: Any) -> None:
    if state == "SUCCESS" and (ours := _ours(task_id)):
        services.mark_done(ours, retval)


@signals.task_failure.connect(dispatch_uid="ml_interface.failure")
def on_failure(sender: Any = None, task_id: Any = None, exception: BaseException | None = None, **kwargs: Any) -> None:
    if ours := _ours(task_id):
        services.mark_failed(ours, exception or "unknown error")


@receiver(file_purging, sender=File, dispatch_uid="ml_interface.file_purging")
def on_file_purging(sender: Any, file: File, **kwargs: Any) -> list[PurgePath]:
    ml_dir = Path(settings.FILES_DIR).parent / "ml"  # where h5ad_vis keeps cell embeddings
    return [PurgePath(path) for path in sorted(ml_dir.glob(f"cells-{file.id}-*.npz"))] if ml_dir.is_dir() else []


@receiver(cell_layouts_wanted, sender=File, dispatch_uid="ml_interface.cell_layouts")
def on_cell_layouts_wanted(sender: Any, file: File, n_obs: int, **kwargs: Any) -> dict[str, Any]:
    from .handlers.h5ad_vis import embeddings_for

    return embeddings_for(file, n_obs)
