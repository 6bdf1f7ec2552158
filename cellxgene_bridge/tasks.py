"""Celery wrappers around ``cellxgene_bridge.services`` and ``pool``: load by primary key, call."""

from celery import shared_task

from . import pool, services


@shared_task(name="cellxgene_bridge.publish_dataset")
def publish_dataset_task(publication_id: int) -> str | None:
    publication = services.publish_dataset(publication_id)
    return publication.status if publication else None


@shared_task(name="cellxgene_bridge.watchdog")
def watchdog_task() -> dict:
    return {**pool.sweep(), "stale_publications": services.sweep_stale_publications()}
