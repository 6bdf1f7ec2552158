"""The Celery task behind every analysis: load by primary key, call the service. Status,
timestamps, result and error are written by the signal handlers in ``signals.py``."""

from typing import Any

from celery import shared_task

from . import services


# Its return value is the analysis's result (stored on the MLTask by ``signals.py``): data that
# the staff listing of background work must not copy (``background.signals``).
@shared_task(name="ml_interface.run_analysis", private_result=True)
def run_analysis_task(task_id: int) -> dict[str, Any]:
    return services.run_analysis(task_id)


@shared_task(name="ml_interface.sweep_stale_tasks")
def sweep_stale_tasks_task() -> list[int]:
    return services.fail_stale_tasks()
