"""What an upload may take: the size limit (``BIOFM_MAX_UPLOAD_BYTES``), the user's quota
(``BIOFM_USER_QUOTA_BYTES``) and the project's (``quota_bytes``), counting stored files and the
uploads still on their way.

Public surface: ``check_quota``, ``check_project_quota``, ``check_length``, ``PENDING_STATES``.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db.models import Sum

from file_project.domain import PayloadTooLarge

from ..models import File, Project, Upload, UploadConcat, UploadState

log = logging.getLogger(__name__)


# Uploads whose bytes count against a quota before they are a File.
PENDING_STATES = (UploadState.ACTIVE, UploadState.VERIFYING)


def in_use(**owner_or_project: Any) -> int:
    """Bytes of the user's or project's (``owner=`` or ``project=``) stored files plus those of
    their uploads still on the way."""
    stored = File.objects.alive().filter(**owner_or_project).aggregate(total=Sum("size"))["total"] or 0
    uploads = Upload.objects.filter(state__in=PENDING_STATES, length__isnull=False, **owner_or_project)
    if "owner" in owner_or_project:
        # A final upload (tus concatenation) is its partial uploads' bytes, and they count until
        # the join removes them, in the transaction that stores its File: once, as the parts.
        # A project counts the final (the parts have no project).
        uploads = uploads.exclude(concat=UploadConcat.FINAL)
    pending = uploads.aggregate(total=Sum("length"))["total"] or 0
    return int(stored + pending)


def check_quota(user: Any, extra_bytes: int, project: Project | None = None) -> None:
    """413 when the user's stored files plus active uploads plus ``extra_bytes`` exceed
    ``BIOFM_USER_QUOTA_BYTES`` (0 = no quota), or the same for the project exceeds its
    ``quota_bytes`` (null = no quota)."""
    if project is not None and project.quota_bytes is not None:
        check_project_quota(project, extra_bytes)
    quota = settings.BIOFM_USER_QUOTA_BYTES
    if not quota:
        return
    used = in_use(owner=user)
    if used + extra_bytes > quota:
        raise PayloadTooLarge(
            f"This would exceed your storage quota of {quota} bytes ({used} in use or on the way).",
            code="quota_exceeded",
        )


def check_project_quota(project: Project, extra_bytes: int) -> None:
    quota = project.quota_bytes or 0
    used = in_use(project=project)
    if used + extra_bytes > quota:
        raise PayloadTooLarge(
            f"This would exceed the project's storage quota of {quota} bytes ({used} in use or on the way).",
            code="quota_exceeded",
        )


def check_length(length: int) -> None:
    if length > settings.BIOFM_MAX_UPLOAD_BYTES:
        raise PayloadTooLarge(f"Uploads are limited to {settings.BIOFM_MAX_UPLOAD_BYTES} bytes (Tus-Max-Size).")
