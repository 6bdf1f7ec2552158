"""Celery wrappers around ``file_upload.services``: load by primary key, call the service."""

from celery import shared_task

from . import services


@shared_task(name="file_upload.parse_file")
def parse_file_task(file_id: int) -> str | None:
    file = services.parse_file(file_id)
    return file.parse_status if file else None


@shared_task(name="file_upload.index_file")
def index_file_task(file_id: int) -> str | None:
    file = services.index_file(file_id)
    return (file.stats or {}).get("index_status") if file else None


@shared_task(name="file_upload.cleanup_uploads")
def cleanup_uploads_task() -> dict[str, int]:
    from . import uploads

    return uploads.cleanup_uploads()


@shared_task(name="file_upload.finalise_upload", acks_late=True, reject_on_worker_lost=True)
def finalise_upload_task(upload_id: str) -> str | None:
    from . import uploads

    upload = uploads.finalise_upload(upload_id)
    return upload.state if upload else None


@shared_task(name="file_upload.sweep_stale_finalisations")
def sweep_stale_finalisations_task() -> list[str]:
    from . import uploads

    return uploads.requeue_stale_finalisations()


@shared_task(name="file_upload.fill_checksums")
def fill_checksums_task(file_id: int) -> str | None:
    file = services.fill_checksums(file_id)
    return file.md5 if file else None


@shared_task(name="file_upload.sweep_stale_parses")
def sweep_stale_parses_task() -> list[int]:
    """Stale extractions and stale index builds alike; returns the file ids queued again."""
    return services.requeue_stale_parses() + services.requeue_stale_indexes()


@shared_task(name="file_upload.purge_trash")
def purge_trash_task() -> int:
    from . import retention

    return len(retention.purge_expired())


@shared_task(name="file_upload.prune_search_changes")
def prune_search_changes_task() -> int:
    from .search import feed

    return feed.prune_changes()
