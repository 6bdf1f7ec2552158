"""Serving stored bytes. Public surface: ``open_for_download``."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse

from authentication import audit
from file_upload import storage
from file_upload.models import File


def open_for_download(file: File, *, actor: Any) -> FileResponse:
    """A streaming response with the file's bytes, name, type, length and a strong ETag; the
    download is audited."""
    audit.record(actor, "file.download", file, size=file.size)
    response = FileResponse(
        storage.open_blob(file.storage_key),
        as_attachment=True,
        filename=file.name,
        content_type=file.content_type or "application/octet-stream",
    )
    response["Content-Length"] = str(file.size)
    if file.sha256:
        response["ETag"] = f'"{file.sha256}"'
    response["Cache-Control"] = "private, no-transform"
    response["X-Content-Type-Options"] = "nosniff"
    return response
