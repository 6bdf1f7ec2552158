"""Trash, restore and purge: the deletion lifecycle of a file.

A DELETE moves a file to the trash (``services.soft_delete_file``): hidden everywhere, bytes
kept. Its owner, the project's managers and staff may restore it until the project's retention
window (``Project.retention_days``, else ``BIOFM_TRASH_RETENTION_DAYS``) has passed since the
deletion; then ``purge_expired`` (daily beat task, ``manage.py purge``) erases it for good:

- the stored bytes, overwritten first with ``BIOFM_PURGE_OVERWRITE_PASSES`` passes of random
  data when set (only meaningful on local spinning disks: SSDs remap writes and object stores
  keep versions, so there it proves nothing),
- derived copies: index files built beside the blob (``.bai``, ``.csi``, ``.crai``, and
  ``<blob>.bai.<token>.tmp`` left by a build cut short), and whatever the plugins keep made from
  the bytes: the receivers of ``signals.file_purging`` stop what still serves the file and name
  their copies (cellxgene's published copies, ml's cell embeddings); this module knows none of
  them,
- the ``File`` row (grants on it cascade; publications and uploads keep a null reference),

and appends a ``file.purge`` audit event holding the file's name, size and SHA-256, so the
trail proves what was erased, when and why.

Public surface: ``purge_deadline``, ``restore_file``, ``purge_file``, ``expired_files``,
``purge_expired``.
"""

from __future__ import annotations

import glob
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from authentication import audit
from file_project.domain import Conflict

from . import storage
from .models import File
from .signals import PurgePath, file_purging

log = logging.getLogger(__name__)

INDEX_SUFFIXES = (".bai", ".csi", ".crai", ".tbi")
OVERWRITE_CHUNK = 1024 * 1024


def retention_days(file: File) -> int:
    days = file.project.retention_days
    return settings.BIOFM_TRASH_RETENTION_DAYS if days is None else days


def purge_deadline(file: File) -> datetime | None:
    """When a trashed file becomes due for purging (None for a live file)."""
    if file.deleted_at is None:
        return None
    return file.deleted_at + timedelta(days=retention_days(file))


def restore_file(file: File, *, actor: Any) -> File:
    """Take a file out of the trash; 409 when a live file took its name meanwhile."""
    if file.deleted_at is None:
        return file
    deleted_at = file.deleted_at
    try:
        with transaction.atomic():
            file.deleted_at = None
            file.save(update_fields=["deleted_at", "updated_at"])
            audit.record(actor, "file.restore", file, deleted_at=deleted_at.isoformat())
            # Its uploaded index went to the trash with it (same time): it comes back too.
            for index in File.objects.filter(index_of=file, deleted_at=deleted_at):
                index.deleted_at = None
                index.save(update_fields=["deleted_at", "updated_at"])
                audit.record(actor, "file.restore", index, deleted_at=deleted_at.isoformat(), index_of=file.id)
    except IntegrityError as exc:
        file.deleted_at = deleted_at
        raise Conflict(
            f"A file named “{file.name}” exists in this folder again; rename or delete it first.",
            code="name_conflict",
        ) from exc
    return file


@dataclass
class PurgeResult:
    file_id: int
    name: str
    sha256: str
    size: int
    removed: list[str] = field(default_factory=list)


def derived_paths(file: File, actor: Any = None) -> list[PurgePath]:
    """Every path on disk that holds the file's bytes or something made from them; the plugins'
    receivers of ``file_purging`` stop what serves the file and add their copies."""
    blob = storage.path_for(file.storage_key)
    paths = [blob, *(Path(str(blob) + suffix) for suffix in INDEX_SUFFIXES)]
    if blob.parent.is_dir():  # an index build cut short (``<blob>.bai.<token>.tmp``)
        paths += sorted(blob.parent.glob(glob.escape(blob.name) + ".*.tmp"))
    found = [PurgePath(path, _display(path)) for path in paths]
    for receiver, extra in file_purging.send_robust(sender=File, file=file, actor=actor):
        if isinstance(extra, BaseException):  # one plugin failing must not keep the bytes
            log.error("file_purging receiver %r failed for file %s: %r", receiver, file.id, extra)
            continue
        found += [item for item in extra or [] if item.path not in {f.path for f in found}]
    return found


def overwrite(path: Path, passes: int) -> None:
    """Write random bytes over the whole file ``passes`` times, syncing after each pass."""
    size = path.stat().st_size
    with open(path, "r+b", buffering=0) as handle:
        for _ in range(passes):
            handle.seek(0)
            left = size
            while left > 0:
                step = min(left, OVERWRITE_CHUNK)
                handle.write(os.urandom(step))
                left -= step
            os.fsync(handle.fileno())


def purge_file(file: File, *, actor: Any = None, reason: str = "retention") -> PurgeResult:
    """Erase a trashed file for good (see the module docstring). Refuses live files."""
    if file.deleted_at is None:
        raise Conflict("Only files in the trash can be purged; delete it first.", code="not_in_trash")
    result = PurgeResult(file_id=file.id, name=file.name, sha256=file.sha256, size=file.size)
    passes = max(0, int(settings.BIOFM_PURGE_OVERWRITE_PASSES))
    seen: set[tuple[int, int]] = set()
    for item in derived_paths(file, actor):
        path = item.path
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        # A cellxgene copy is often a hard link to the blob: overwrite each inode once.
        if passes and (stat.st_dev, stat.st_ino) not in seen:
            overwrite(path, passes)
        seen.add((stat.st_dev, stat.st_ino))
        path.unlink(missing_ok=True)
        result.removed.append(item.shown or path.name)
    with transaction.atomic():
        audit.record(
            actor,
            "file.purge",
            file,
            username="" if actor else "system",
            name=file.name,
            sha256=file.sha256,
            size=file.size,
            deleted_at=file.deleted_at.isoformat(),
            reason=reason,
            overwrite_passes=passes,
            removed=result.removed,
        )
        File.objects.filter(pk=file.pk).delete()
    return result


def _display(path: Path) -> str:
    """Paths in the audit trail relative to the store, so no install layout leaks into it."""
    try:
        return f"files/{path.resolve().relative_to(Path(settings.FILES_DIR).resolve())}"
    except ValueError:
        return path.name


def expired_files(now: datetime | None = None) -> QuerySet[File]:
    """Trashed files whose project's retention window has passed."""
    now = now or timezone.now()
    candidates = File.objects.filter(deleted_at__isnull=False).select_related("project").order_by("deleted_at")
    due = [
        f.pk
        for f in candidates.only("id", "deleted_at", "project__retention_days")
        if (deadline := purge_deadline(f)) is not None and deadline <= now
    ]
    return File.objects.filter(pk__in=due).select_related("project").order_by("deleted_at")


def purge_expired(*, dry_run: bool = False, now: datetime | None = None) -> list[PurgeResult]:
    """Purge every file due (the beat task and ``manage.py purge``); ``dry_run`` only lists them."""
    results: list[PurgeResult] = []
    for file in expired_files(now):
        if dry_run:
            results.append(PurgeResult(file_id=file.id, name=file.name, sha256=file.sha256, size=file.size))
            continue
        try:
            results.append(purge_file(file, reason="retention"))
        except Exception:  # one bad file must not stop the others
            log.exception("purging file %s failed", file.id)
    return results
