"""What the WebDAV provider does to the workspace, on top of the file_upload services: app
passwords, storing a PUT body, moving and copying files. Permission checks are the caller's
(``provider.py`` asks ``access.policy``)."""

from __future__ import annotations

import hashlib
import secrets
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from authentication import audit
from file_upload import services as files
from file_upload import storage
from file_upload.metadata import METADATA_FIELD_NAMES
from file_upload.models import File, Folder, Project

from .models import AppPassword


def _digest(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


def _new_secret() -> str:
    """32 random bytes, URL-safe, never starting with "-": command lines take such a value as
    an option (``rclone obscure -x…``, ``curl -u alice:-x…`` alike), so one in 64 passwords
    could not be pasted into them."""
    while True:
        secret = secrets.token_urlsafe(32)
        if not secret.startswith("-"):
            return secret


def create_app_password(user: Any, name: str) -> tuple[AppPassword, str]:
    """A new app password; the secret is returned here and never again."""
    secret = _new_secret()
    with transaction.atomic():
        item = AppPassword.objects.create(user=user, name=name.strip()[:100] or "WebDAV", digest=_digest(secret))
        audit.record(user, "auth.app_password_created", item, name=item.name)
    return item, secret


def revoke_app_password(item: AppPassword, *, actor: Any) -> None:
    with transaction.atomic():
        audit.record(actor, "auth.app_password_revoked", item, name=item.name)
        item.delete()


def check_app_password(username: str, password: str) -> Any | None:
    """The active user whose app password this is, or None."""
    item = (
        AppPassword.objects.select_related("user")
        .filter(digest=_digest(password), user__username=username, user__is_active=True)
        .first()
    )
    if item is None:
        return None
    AppPassword.objects.filter(pk=item.pk).update(last_used_at=timezone.now())
    return item.user


class PutBody:
    """The body of a PUT, streamed to a temporary file on the data disk and hashed on the way
    (size, SHA-256, MD5), then handed to ``store_file`` like a finished upload."""

    def __init__(self) -> None:
        Path(settings.UPLOAD_TMP_DIR).mkdir(parents=True, exist_ok=True)
        self.handle = tempfile.NamedTemporaryFile(dir=settings.UPLOAD_TMP_DIR, prefix="dav-", delete=False)
        self.writer = storage.HashingWriter(self.handle)
        self.path = self.handle.name

    def write(self, chunk: bytes) -> None:
        self.writer.write(chunk)

    def close(self) -> None:
        self.handle.close()

    def discard(self) -> None:
        self.handle.close()
        Path(self.path).unlink(missing_ok=True)


def store_put(
    body: PutBody, *, project: Project, folder: Folder | None, name: str, owner: Any, replacing: File | None
) -> File:
    """Store a PUT body as a file; an existing file of that name goes to the trash first."""
    try:
        with transaction.atomic():
            if replacing is not None:
                files.soft_delete_file(replacing, actor=owner)
            return files.store_file(
                project=project,
                folder=folder,
                name=name,
                owner=owner,
                temp_path=body.path,
                digest=body.writer.digest(),
                upload_method="api",
            )
    finally:
        Path(body.path).unlink(missing_ok=True)


def move_file(file: File, *, actor: Any, folder: Folder | None, name: str) -> File:
    """Rename and/or move a file to another folder of its project: the workspace's one move
    (``files.move_file``), so its uploaded index goes with it as from the web app."""
    with transaction.atomic():
        if folder != file.folder:
            file = files.move_file(file, actor=actor, project=file.project, folder=folder, name=name)
        if name != file.name:
            file = files.update_file(file, actor=actor, name=name)
    return file


def copy_file(file: File, *, actor: Any, project: Project, folder: Folder | None, name: str) -> File:
    """A new file with the same bytes and metadata (the copy belongs to ``actor``)."""
    metadata = {field: getattr(file, field) for field in METADATA_FIELD_NAMES}
    with storage.open_blob(file.storage_key) as source:
        return files.store_file(
            project=project,
            folder=folder,
            name=name,
            owner=actor,
            source=source,
            upload_method="api",
            metadata=metadata,
            tags=file.tags,
            description=file.description,
            content_type=file.content_type,
        )
