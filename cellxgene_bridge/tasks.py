"""Celery wrappers around ``cellxgene_bridge.services``: load by primary key, call. The watchdog
(the pool's sweep, stale publications) is a stale rule of the one sweeper (``apps.py``)."""

from celery import shared_task

from . import services


@shared_task(name="cellxgene_bridge.publish_dataset")
def publish_dataset_task(publication_id: int) -> str | None:
    publication = services.publish_dataset(publication_id)
    return publication.status if publication else None
