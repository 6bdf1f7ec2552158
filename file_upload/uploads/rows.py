"""An upload's row and part file: where its bytes wait (``UPLOAD_TMP_DIR/tus/<id>.part``), when
it expires, whose it is, and the status HEAD and GET report.

Public surface: ``part_dir``, ``part_path``, ``is_expired``, ``extend_expiry``, ``owned``,
``upload_status``.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from file_project.domain import NotFound

from ..models import Upload, UploadState
from .errors import UploadGone

log = logging.getLogger(__name__)


def part_dir() -> Path:
    path = Path(settings.UPLOAD_TMP_DIR) / "tus"
    path.mkdir(parents=True, exist_ok=True)
    return path


def part_path(upload: Upload) -> Path:
    return part_dir() / f"{upload.id}.part"


def is_expired(upload: Upload) -> bool:
    return upload.state == UploadState.ACTIVE and upload.expires_at <= timezone.now()


def extend_expiry(upload: Upload) -> None:
    upload.expires_at = timezone.now() + timedelta(hours=settings.BIOFM_UPLOAD_EXPIRY_HOURS)


def owned(upload_id: uuid.UUID, owner: Any) -> Upload:
    """The caller's upload; unknown or someone else's → 404, expired or ended → 410."""
    upload: Upload | None = Upload.objects.filter(id=upload_id, owner=owner).first()
    if upload is None:
        raise NotFound("No such upload.")
    if upload.state in (UploadState.TERMINATED, UploadState.EXPIRED, UploadState.FAILED) or is_expired(upload):
        raise UploadGone()
    return upload


def upload_status(upload_id: uuid.UUID, owner: Any) -> Upload:
    upload: Upload | None = Upload.objects.select_related("file").filter(id=upload_id, owner=owner).first()
    if upload is None:
        raise NotFound("No such upload.")
    if is_expired(upload):
        upload.state = UploadState.EXPIRED
    return upload
