"""Queueing the workspace's background work by task name (``background.enqueue``), after the
caller's transaction commits. A file whose parse or index could not be queued stays pending; the
stale sweep (``parsing.requeue_stale_parses``/``requeue_stale_indexes``) queues it again. Called
as ``queueing.enqueue_parse(pk)`` (a module attribute), so a test can replace one for all callers."""

from __future__ import annotations

from background.enqueue import enqueue


def enqueue_parse(file_id: int) -> None:
    enqueue("file_upload.parse_file", file_id)


def enqueue_index(file_id: int) -> None:
    enqueue("file_upload.index_file", file_id)


def enqueue_checksums(file_id: int) -> None:
    enqueue("file_upload.fill_checksums", file_id)
