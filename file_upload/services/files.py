"""Files: ``store_file`` (every front door ends here), ``update_file``, ``soft_delete_file``,
``move_file``, ``fill_checksums``, ``free_name``, ``existing_file``, ``normalise_tags``,
``OnConflict``/``parse_on_conflict``."""

from __future__ import annotations

import logging
import mimetypes
import os
from collections.abc import Iterable
from enum import StrEnum
from typing import Any, BinaryIO

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from authentication import audit
from file_project import metrics
from file_project.domain import Conflict

from .. import sidecars, storage
from ..metadata import METADATA_FIELD_NAMES
from ..models import (
    File,
    Folder,
    IndexStatus,
    NodeAccessLevel,
    ParseStatus,
    Project,
    UploadMethod,
)
from ..validators import normalise_name, validate_object_name
from . import queueing
from .levels import SENSITIVE_FILE_FIELDS, changes_of, effective_level
from .saving import saving_changes, unique_name

log = logging.getLogger(__name__)


def check_name_free(project: Project, folder: Folder | None, name: str, exclude_id: int | None = None) -> None:
    clash = File.objects.alive().filter(project=project, folder=folder, name=name)
    if exclude_id is not None:
        clash = clash.exclude(id=exclude_id)
    if clash.exists():
        raise Conflict(f"A file named “{name}” already exists in this folder.", code="name_conflict")


class OnConflict(StrEnum):
    """What a writer wants when the name it stores under is taken by a live file."""

    REFUSE = "refuse"  # 409 name_conflict (the default)
    REPLACE = "replace"  # the live file goes to the trash, the new one takes its name
    KEEP_BOTH = "keep_both"  # the new one is stored as "name (2).ext"


def parse_on_conflict(value: Any, field: str = "on_conflict") -> OnConflict:
    """``OnConflict`` from a request value ("" and None mean refuse); 400 for anything else."""
    if value in (None, ""):
        return OnConflict.REFUSE
    try:
        return OnConflict(str(value).strip().lower())
    except ValueError:
        raise ValidationError({field: [f"Choose one of {', '.join(c.value for c in OnConflict)}."]}) from None


def free_name(project: Project, folder: Folder | None, name: str) -> str:
    """``name``, or the first free ``stem (2).ext``, ``stem (3).ext`` … in that folder."""
    taken = set(File.objects.alive().filter(project=project, folder=folder).values_list("name", flat=True))
    if name not in taken:
        return name
    stem, dot, ext = name.partition(".")
    for n in range(2, 10_000):
        candidate = f"{stem} ({n}){dot}{ext}"
        if candidate not in taken:
            return candidate
    raise Conflict(f"A file named “{name}” already exists in this folder.", code="name_conflict")


def existing_file(project: Project, folder: Folder | None, name: str) -> File | None:
    """The live file holding ``name`` in that folder, if any."""
    return File.objects.alive().filter(project=project, folder=folder, name=normalise_name(name)).first()


def normalise_tags(tags: Iterable[str]) -> list[str]:
    """Trimmed, de-duplicated tags in first-seen order; each at most 64 characters."""
    seen: dict[str, None] = {}
    for tag in tags:
        tag = str(tag).strip()
        if not tag:
            continue
        if len(tag) > 64:
            raise ValidationError({"tags": [f"Tags are limited to 64 characters: “{tag[:20]}…”."]})
        seen.setdefault(tag, None)
    return list(seen)


def store_file(
    *,
    project: Project,
    folder: Folder | None,
    name: str,
    owner: Any,
    source: BinaryIO | None = None,
    temp_path: str | os.PathLike[str] | None = None,
    digest: storage.Digest | None = None,
    upload_method: str = UploadMethod.API,
    metadata: dict[str, Any] | None = None,
    tags: Iterable[str] = (),
    description: str = "",
    content_type: str = "",
    access_level: str = NodeAccessLevel.INHERIT,
    storage_key: str = "",
    on_conflict: OnConflict = OnConflict.REFUSE,
) -> File:
    """Put the bytes into the store and create the File; queue format extraction.

    The bytes come either from ``source``, a readable binary stream (copied in bounded chunks),
    or from ``temp_path``, a finished temporary file on the data disk whose ``digest`` is known
    (moved into place, not copied). A multipart upload that ``HashingFileUploadHandler`` already
    wrote and hashed counts as the second kind.

    ``storage_key``: the key a caller chose (and recorded) beforehand, so that it can find the
    bytes again if it is interrupted and retries; ``temp_path`` may then already be that key's
    path. The caller owns those bytes: a failure here leaves them where they are.

    ``on_conflict`` decides what happens when the name is taken: refuse (409), replace (the live
    file goes to the trash in the same transaction; the caller has checked the owner may delete
    it) or keep both (stored as ``name (2).ext``).
    """
    name = normalise_name(name)
    validate_object_name(name)
    if folder is not None and folder.project_id != project.id:
        raise ValidationError({"folder": ["The folder belongs to another project."]})
    metadata = {k: v for k, v in (metadata or {}).items() if k in METADATA_FIELD_NAMES}
    if on_conflict == OnConflict.KEEP_BOTH:
        name = free_name(project, folder, name)
    elif on_conflict == OnConflict.REFUSE:
        check_name_free(project, folder, name)

    if source is not None and getattr(source, "biofm_digest", None) and hasattr(source, "temporary_file_path"):
        source.file.flush()  # type: ignore[attr-defined]
        temp_path, digest, source = source.temporary_file_path(), source.biofm_digest, None
    key = storage_key or storage.new_key()
    if temp_path is not None and digest is not None:
        storage.adopt(temp_path, key)
    elif source is not None:
        digest = storage.write_stream(source, key)
    elif digest is not None and storage_key and storage.exists(storage_key):
        pass  # already under the key (a tus upload completed in the object store)
    else:
        raise ValueError("store_file needs a source stream or a temporary file with its digest")
    try:
        with transaction.atomic():
            if on_conflict == OnConflict.REPLACE:
                for old in File.objects.alive().select_for_update().filter(project=project, folder=folder, name=name):
                    soft_delete_file(old, actor=owner, reason="replaced")
            file = File.objects.create(
                project=project,
                folder=folder,
                name=name,
                owner=owner,
                size=digest.size,
                sha256=digest.sha256,
                md5=digest.md5,
                storage_key=key,
                upload_method=upload_method,
                description=description,
                tags=normalise_tags(tags),
                access_level=access_level,
                content_type=content_type or mimetypes.guess_type(name)[0] or "application/octet-stream",
                effective_access_level=effective_level(project, folder, access_level),
                **metadata,
            )
            audit.record(
                owner, "file.upload", file, size=file.size, sha256=file.sha256, method=upload_method, metadata=metadata
            )
            _pair_sidecar(file)
            transaction.on_commit(lambda: queueing.enqueue_parse(file.id))
            transaction.on_commit(lambda: metrics.count_upload(upload_method, file.size))
            if not file.md5:
                transaction.on_commit(lambda: queueing.enqueue_checksums(file.id))
    except IntegrityError as exc:
        if not storage_key:
            storage.delete_blob(key)
        raise Conflict(f"A file named “{name}” already exists in this folder.", code="name_conflict") from exc
    except BaseException:
        if not storage_key:
            storage.delete_blob(key)
        raise
    return file


def fill_checksums(file_id: int) -> File | None:
    """Compute the checksums a fast path left out (MD5 of tus uploads) from the stored bytes."""
    file = File.objects.filter(id=file_id).first()
    if file is None or (file.md5 and file.sha256):
        return file
    from ..uploads import hash_stream

    with storage.open_blob(file.storage_key) as handle:
        digest = hash_stream(handle)
    if file.sha256 and file.sha256 != digest.sha256:
        log.error("file %s: stored bytes no longer match their SHA-256", file.id)
        audit.record(None, "file.integrity_error", file, username="system", expected=file.sha256, actual=digest.sha256)
        return file
    File.objects.filter(id=file.id).update(md5=digest.md5, sha256=digest.sha256)
    file.refresh_from_db()
    return file


def update_file(file: File, *, actor: Any, autofilled: bool = False, **changes: Any) -> File:
    """Edit metadata, tags, description, name or level of a file. ``autofilled``: the values
    come from the app's own analysis (``ml_interface`` autotag), so the changed fields are
    marked in ``autofilled_fields`` instead of leaving it."""
    if "name" in changes:
        changes["name"] = normalise_name(changes["name"])
    if "name" in changes and changes["name"] != file.name:
        validate_object_name(changes["name"])
        check_name_free(file.project, file.folder, changes["name"], exclude_id=file.id)
    if "tags" in changes:
        changes["tags"] = normalise_tags(changes["tags"])
    diff = changes_of(file, changes)
    for field in SENSITIVE_FILE_FIELDS & set(diff):
        diff[field] = ["(encrypted)", "(encrypted)"]  # the audit trail is not encrypted
    for field, value in changes.items():
        setattr(file, field, value)
    if "access_level" in changes:
        file.effective_access_level = effective_level(file.project, file.folder, file.access_level)
    if autofilled:
        file.autofilled_fields = sorted({*(file.autofilled_fields or []), *(set(diff) & set(METADATA_FIELD_NAMES))})
    elif file.autofilled_fields and set(diff) & set(file.autofilled_fields):
        # A value a person typed is theirs from now on: a later parse no longer replaces it.
        file.autofilled_fields = [f for f in file.autofilled_fields if f not in diff]
    taken = f"A file named “{file.name}” already exists in this folder."
    with saving_changes(file, actor=actor, action="file.update", diff=diff, taken=taken):
        pass
    return file


def soft_delete_file(file: File, *, actor: Any, reason: str = "") -> File:
    """Move the file to the trash: hidden from every list and download, bytes kept. Its uploaded
    index (``sidecars``) goes with it, with the same deletion time (so a restore brings both)."""
    extra = {"reason": reason} if reason else {}
    with transaction.atomic():
        file.deleted_at = timezone.now()
        file.trash_origin = _trash_origin(file)
        file.save(update_fields=["deleted_at", "trash_origin", "updated_at"])
        audit.record(actor, "file.delete", file, sha256=file.sha256, size=file.size, **extra)
        for index in File.objects.alive().filter(index_of=file):
            index.deleted_at = file.deleted_at
            index.trash_origin = _trash_origin(index)
            index.save(update_fields=["deleted_at", "trash_origin", "updated_at"])
            audit.record(actor, "file.delete", index, sha256=index.sha256, size=index.size, index_of=file.id)
    return file


def _trash_origin(file: File) -> dict[str, str]:
    """Where a trashed file came from: its folder's path (none at the top level) and the level
    it had there, which a restore never opens (``restore_from_trash``)."""
    origin = {"effective_access_level": file.effective_access_level}
    if file.folder_id:
        origin["folder_path"] = file.folder.name_path
    return origin


def move_file(
    file: File,
    *,
    actor: Any,
    project: Project,
    folder: Folder | None,
    on_conflict: OnConflict = OnConflict.REFUSE,
    name: str | None = None,
) -> File:
    """Move a file into ``folder`` (None: the project's root) of ``project``, under ``name``
    (default: its own); its effective level follows the new place. Its uploaded index moves with
    it. The caller has checked that the actor may edit the file and upload into the target (the
    access policy's move rule)."""
    if folder is not None and folder.project_id != project.id:
        raise ValidationError({"folder": ["The folder belongs to another project."]})
    if file.project_id == project.id and file.folder_id == (folder.id if folder else None):
        return file
    name = name or file.name
    if on_conflict == OnConflict.KEEP_BOTH:
        name = free_name(project, folder, name)
    elif on_conflict == OnConflict.REFUSE:
        check_name_free(project, folder, name)
    before = {"project": file.project_id, "folder": file.folder_id, "name": file.name}
    with unique_name(f"A file named “{name}” already exists there."):
        if on_conflict == OnConflict.REPLACE:
            for old in File.objects.alive().filter(project=project, folder=folder, name=name).exclude(id=file.id):
                soft_delete_file(old, actor=actor, reason="replaced")
        indexes = list(File.objects.alive().filter(index_of=file))
        for moved in [file, *indexes]:
            moved.project, moved.folder = project, folder
            if moved is file:
                moved.name = name
            else:
                moved.name = free_name(project, folder, moved.name)
            moved.effective_access_level = effective_level(project, folder, moved.access_level)
            moved.save(update_fields=["project", "folder", "name", "effective_access_level", "updated_at"])
        audit.record(
            actor,
            "file.move",
            file,
            source=before,
            target={"project": project.id, "folder": folder.id if folder else None, "name": name},
        )
        _pair_sidecar(file)
    return file


def _pair_sidecar(file: File) -> None:
    """Link an index sidecar and its data file in the same folder (``sidecars.pair``); when a
    data file that was parsed without an index gains one, queue the index step, which then
    adopts the uploaded index instead of building one."""
    partner = sidecars.pair(file)
    data = partner if sidecars.is_index_name(file.name) else file if partner else None
    if data is None:
        return
    data.refresh_from_db(fields=["stats", "parse_status"])
    stats = dict(data.stats or {})
    if data.parse_status == ParseStatus.DONE and stats.get("format") in ("bam", "cram") and not stats.get("indexed"):
        if stats.get("index_status") != IndexStatus.RUNNING:
            stats.pop("index_error", None)
            File.objects.filter(id=data.id).update(stats={**stats, "index_status": IndexStatus.PENDING})
            transaction.on_commit(lambda: queueing.enqueue_index(data.id))
