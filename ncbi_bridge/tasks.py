"""Celery wrapper around ``ncbi_bridge.services``: load by primary key, call the service."""

from celery import shared_task

from . import services


@shared_task(name="ncbi_bridge.import_ncbi_record")
def import_ncbi_record_task(import_id: int) -> str | None:
    row = services.run_sra_import(import_id)
    return row.status if row else None


@shared_task(name="ncbi_bridge.sweep_stale_imports")
def sweep_stale_imports_task() -> list[int]:
    return services.sweep_stale_imports()
