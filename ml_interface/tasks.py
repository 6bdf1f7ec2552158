"""The Celery task behind every analysis: load by primary key, call the service. Status,
timestamps, result and error are written by the signal handlers in ``signals.py``."""

from typing import Any

from celery import shared_task

from . import services


@shared_task(name="ml_interface.run_analysis")
def run_analysis_task(task_id: int) -> dict[str, Any]:
    return services.run_analysis(task_id)


@shared_task(name="ml_interface.sweep_stale_tasks")
def sweep_stale_tasks_task() -> list[int]:
    return services.fail_stale_tasks()
