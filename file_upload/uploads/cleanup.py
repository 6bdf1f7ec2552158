"""Freeing an upload's bytes: tus termination (DELETE) and the sweep of expired, terminated,
failed and abandoned uploads and temporaries.

Public surface: ``terminate_upload``, ``cleanup_uploads``, ``discard_in_store``.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from authentication import audit
from file_project.domain import NotFound

from .. import storage
from ..models import Upload, UploadState
from .errors import UploadGone
from .rows import is_expired, part_dir, part_path

log = logging.getLogger(__name__)


def terminate_upload(upload_id: uuid.UUID, owner: Any) -> None:
    """tus termination: free the bytes now; the URL answers 410 afterwards."""
    upload = Upload.objects.filter(id=upload_id, owner=owner).first()
    if upload is None:
        raise NotFound("No such upload.")
    if upload.state in (UploadState.VERIFYING, UploadState.COMPLETED):
        return  # every byte is in and the file is (being) stored: terminating leaves it alone
    if upload.state == UploadState.TERMINATED:
        raise UploadGone()
    with transaction.atomic():
        Upload.objects.filter(id=upload.id).update(state=UploadState.TERMINATED, lock_token=None, locked_until=None)
        audit.record(owner, "upload.terminate", upload, project_id=upload.project_id, offset=upload.offset)
    part_path(upload).unlink(missing_ok=True)
    discard_in_store(upload)


def discard_in_store(upload: Upload) -> None:
    """Abort the upload's multipart upload and drop its tail (object store only)."""
    if storage.is_s3():
        from .. import tus_store

        tus_store.discard(upload)


def cleanup_uploads(now: Any = None) -> dict[str, int]:
    """Delete the bytes and rows of expired, terminated and failed uploads, completed upload
    rows past their expiry, and abandoned temporary files; audit what was removed."""
    now = now or timezone.now()
    removed = {"uploads": 0, "bytes": 0, "orphans": 0}
    stale = Upload.objects.filter(
        Q(state=UploadState.ACTIVE, expires_at__lte=now)
        | Q(state__in=[UploadState.TERMINATED, UploadState.FAILED])
        | Q(state=UploadState.COMPLETED, expires_at__lte=now)
    )
    for upload in stale.iterator():
        path = part_path(upload)
        size = path.stat().st_size if path.exists() else 0
        path.unlink(missing_ok=True)
        if upload.state != UploadState.COMPLETED:
            discard_in_store(upload)
            size = size or (upload.offset if storage.is_s3() else 0)
        with transaction.atomic():
            audit.record(
                None,
                "upload.cleanup",
                upload,
                project_id=upload.project_id,
                username="system",
                state="expired" if is_expired(upload) else upload.state,
                bytes_freed=size,
                owner=upload.owner.get_username(),
            )
            upload.delete()
        removed["uploads"] += 1
        removed["bytes"] += size
    # Part files whose row is gone, and multipart/stream temporaries nobody finished.
    horizon = time.time() - settings.BIOFM_UPLOAD_EXPIRY_HOURS * 3600
    known = {str(u) for u in Upload.objects.values_list("id", flat=True)}
    for path in part_dir().glob("*.part"):
        if path.stem not in known and path.stat().st_mtime < horizon:
            removed["bytes"] += path.stat().st_size
            path.unlink(missing_ok=True)
            removed["orphans"] += 1
    for pattern in ("*.upload*", "tmp*.part"):
        for path in Path(settings.UPLOAD_TMP_DIR).glob(pattern):
            if path.is_file() and path.stat().st_mtime < horizon:
                removed["bytes"] += path.stat().st_size
                path.unlink(missing_ok=True)
                removed["orphans"] += 1
    if storage.is_s3():  # multipart uploads and tails in the bucket that no live row names
        from .. import tus_store

        removed["orphans"] += tus_store.abort_orphans(timedelta(hours=settings.BIOFM_UPLOAD_EXPIRY_HOURS))
    if removed["orphans"]:
        audit.record(None, "upload.cleanup_orphans", username="system", files=removed["orphans"])
    return removed
