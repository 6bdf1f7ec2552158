"""The one sweeper's beat task (see ``sweep.py``)."""

from typing import Any

from celery import shared_task

from . import sweep


@shared_task(name="background.sweep")
def sweep_task() -> dict[str, Any]:
    return sweep.sweep()
