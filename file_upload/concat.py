"""The tus ``concatenation`` extension: one file sent as several partial uploads over parallel
connections (tus-js-client's ``parallelUploads``), then joined by a final upload.

- A **partial** upload (``Upload-Concat: partial``) is an ``Upload`` with no target: it names
  no project and no file name, counts against its owner's quota like any upload in progress,
  and when its last byte is in it stays ``active`` at its full length — it never becomes a
  File. Unused partials expire like any upload.
- A **final** upload (``Upload-Concat: final;<url> <url> …``, no ``Upload-Length``) carries the
  target and metadata of the file. Its parts must be the caller's own finished partial uploads
  (anyone else's answers 404, like a missing one). Creating it streams the parts, in order,
  through ``storage.write_stream`` in one pass that computes the whole file's SHA-256 and MD5,
  checks a ``checksum`` given in its metadata, stores the File through ``services.store_file``
  and then removes the partials (rows and bytes). On the local disk a partial's bytes are its
  part file; in the object store its multipart upload under ``tus-partials/<id>``, completed
  into an object when the final upload joins it (docs/decisions/0015-object-store.md). The
  final upload's length is the sum of the parts; a PATCH on it answers 403.

The final upload holds its own lease and its parts' while it joins them, so no PATCH, no second
final upload and no finalisation sweep gets in its way. Should the joining stop half-way (a
killed worker), the upload stays ``verifying`` and, once those leases lapse, the finalisation
sweep (``uploads.finalise_upload``) joins the parts again from the start.

Public surface: ``parse_header``, ``create_partial``, ``create_final``, ``finalise_final``,
``is_final``, ``header_value``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DataError, transaction
from django.utils import timezone

from authentication import audit
from file_project.domain import Conflict, InvalidInput, NotFound, PayloadTooLarge

from . import storage, tus_store, uploads
from .models import Folder, Project, Upload, UploadConcat, UploadState

_PART_PATH = re.compile(r"^/api/uploads/([0-9a-fA-F-]{36})/?$")
MAX_PARTS = 1000  # far more than any client's connections; bounds the final's look-up


def parse_header(value: str | None) -> tuple[str, list[uuid.UUID]]:
    """``Upload-Concat`` → (``"partial"``, []) or (``"final"``, [part ids]); anything else → 400.
    Part URLs may be absolute or paths; they must name uploads of this server
    (``/api/uploads/<id>/``)."""
    value = (value or "").strip()
    if value == UploadConcat.PARTIAL:
        return UploadConcat.PARTIAL, []
    kind, sep, urls = value.partition(";")
    if kind.strip() != UploadConcat.FINAL or not sep:
        raise InvalidInput("Expected “partial” or “final;<upload URL> <upload URL> …”.", field="Upload-Concat")
    ids: list[uuid.UUID] = []
    for url in urls.split():
        match = _PART_PATH.match(urlsplit(url).path)
        try:
            ids.append(uuid.UUID(match.group(1)) if match else uuid.UUID("x"))
        except ValueError:
            raise InvalidInput(
                f"“{url[:200]}” is not the URL of an upload on this server.", field="Upload-Concat"
            ) from None
    if not ids:
        raise InvalidInput("A final upload names at least one partial upload.", field="Upload-Concat")
    if len(ids) > MAX_PARTS or len(set(ids)) != len(ids):
        raise InvalidInput(f"Name each partial upload once, at most {MAX_PARTS} of them.", field="Upload-Concat")
    return UploadConcat.FINAL, ids


def header_value(upload: Upload, url_for: Any) -> str | None:
    """What HEAD echoes as ``Upload-Concat`` (``url_for(id)`` builds a part's URL)."""
    if upload.concat == UploadConcat.PARTIAL:
        return "partial"
    if upload.concat == UploadConcat.FINAL:
        return "final;" + " ".join(url_for(part) for part in upload.parts)
    return None


def is_final(upload_id: uuid.UUID, owner: Any) -> bool:
    return Upload.objects.restrict(owner).filter(id=upload_id, concat=UploadConcat.FINAL).exists()


def create_partial(*, owner: Any, length: int | None, raw_metadata: str) -> Upload:
    """A partial upload: bytes only, no target (its final upload names one)."""
    if length is not None:  # the view checked it against Tus-Max-Size
        uploads.check_quota(owner, length)
    upload = Upload(owner=owner, length=length, concat=UploadConcat.PARTIAL, raw_metadata=raw_metadata[:8192])
    uploads._extend_expiry(upload)
    if storage.is_s3():
        # Under a prefix of its own, so the orphan sweep finds a partial's object by its key
        # (``tus_store.abort_orphans``); the first PATCH starts its multipart upload there.
        upload.storage_key = f"{tus_store.PARTIAL_PREFIX}{upload.id}"
    with transaction.atomic():
        upload.save(force_insert=True)
        if not storage.is_s3():
            uploads.part_path(upload).touch(mode=0o640)
        audit.record(owner, "upload.start", upload, length=length, concat="partial")
    return upload


def _parts(owner: Any, ids: list[uuid.UUID]) -> list[Upload]:
    """The caller's partial uploads named by ``ids``, in that order: 404 for any that is not
    theirs or not there (hidden = missing), 410 for one that ended, 400 for one unfinished."""
    found = {u.id: u for u in Upload.objects.restrict(owner, "edit").filter(id__in=ids, concat=UploadConcat.PARTIAL)}
    parts = []
    for part_id in ids:
        part = found.get(part_id)
        if part is None:
            raise NotFound(f"No such partial upload: {part_id}.")
        if part.state != UploadState.ACTIVE or uploads.is_expired(part):
            raise uploads.UploadGone(f"The partial upload {part_id} expired or was cancelled; upload it again.")
        if part.length is None or part.offset != part.length:
            raise InvalidInput(
                f"The partial upload {part_id} is not finished ({part.offset} bytes received).", field="Upload-Concat"
            )
        parts.append(part)
    return parts


def create_final(
    *,
    owner: Any,
    part_ids: list[uuid.UUID],
    raw_metadata: str,
    project: Project,
    folder: Folder | None,
    metadata: dict[str, str],
) -> Upload:
    """Join the caller's finished partial uploads into a File (the caller has checked the
    target and the metadata). Returns the final upload, ``completed`` or ``failed``; 423 when a
    part is busy (a PATCH, or another final upload joining it)."""
    parts = _parts(owner, part_ids)
    total = sum(part.length or 0 for part in parts)
    final = uploads.create_upload(
        owner=owner, length=None, raw_metadata=raw_metadata, project=project, folder=folder, metadata=metadata
    )
    # The final's own lease keeps the finalisation sweep away while this request joins.
    leases = [uploads._try_lease(final.id)]
    try:
        leases += _lease_parts(parts)
        if total > settings.BIOFM_MAX_UPLOAD_BYTES:
            raise PayloadTooLarge(f"Uploads are limited to {settings.BIOFM_MAX_UPLOAD_BYTES} bytes (Tus-Max-Size).")
        # The parts counted against the owner's quota when they were created; the project's
        # learns of them now.
        if project.quota_bytes is not None:
            uploads._check_project_quota(project, total)
        now = timezone.now()
        final.length, final.concat, final.parts = total, UploadConcat.FINAL, [str(p.id) for p in parts]
        final.state, final.received_at, final.queued_at = UploadState.VERIFYING, now, now
        final.storage_key = storage.new_key()
        Upload.objects.filter(id=final.id).update(
            length=total,
            concat=UploadConcat.FINAL,
            parts=final.parts,
            state=UploadState.VERIFYING,
            received_at=now,
            queued_at=now,
            storage_key=final.storage_key,
        )
        uploads.part_path(final).unlink(missing_ok=True)  # its bytes are the parts'
        _join(final, parts)
    except BaseException:
        if final.state == UploadState.ACTIVE:  # refused before joining: the final never was
            Upload.objects.filter(id=final.id).update(state=UploadState.TERMINATED)
            uploads.part_path(final).unlink(missing_ok=True)
        raise
    finally:
        for lease in leases:
            if lease is not None:
                uploads._release(lease)
    return final


def _lease_parts(parts: list[Upload]) -> list[Any]:
    """The parts' leases, all or none (423 when one is busy)."""
    leases = []
    for part in parts:
        lease = uploads._try_lease(part.id, state=UploadState.ACTIVE)
        if lease is None:
            for taken in leases:
                uploads._release(taken)
            raise uploads.UploadLocked(f"The partial upload {part.id} is busy; retry shortly.")
        leases.append(lease)
    return leases


def finalise_final(final: Upload) -> None:
    """Join a final upload's parts again (the finalisation sweep, after a run died half-way);
    the caller holds the final upload's lease."""
    ids = [uuid.UUID(part) for part in final.parts]
    parts = list(Upload.objects.filter(id__in=ids, owner=final.owner, concat=UploadConcat.PARTIAL))
    parts.sort(key=lambda part: ids.index(part.id))
    if len(parts) != len(ids) or any(part.offset != part.length for part in parts):
        uploads._fail(final, "the partial uploads of this file are gone; upload it again", "missing")
        return
    try:
        leases = _lease_parts(parts)
    except uploads.UploadLocked:
        return  # still held by the run that died; the sweep comes back once its lease lapses
    try:
        _join(final, parts)
    finally:
        for lease in leases:
            uploads._release(lease)


def _complete_parts(parts: list[Upload]) -> None:
    """In the object store a finished partial is an open multipart upload: complete each into
    its object (once: a join run again after a crash finds the objects already whole). Done
    before the join, in the caller's thread: the store's writer reads the stream in threads of
    its own, which must not touch the database."""
    if storage.is_s3():
        for part in parts:
            if not storage.exists(part.storage_key):
                tus_store.complete(part)


def _open_part(part: Upload) -> BinaryIO:
    """A reader of a finished partial upload's bytes: its part file on the local disk, its
    completed object in the store."""
    if storage.is_s3():
        return storage.open_blob(part.storage_key, size=part.length)
    return open(uploads.part_path(part), "rb")


def _remove_part_bytes(part: Upload) -> None:
    if storage.is_s3():
        tus_store.discard(part)  # its multipart upload or object, and any tail
    else:
        uploads.part_path(part).unlink(missing_ok=True)


class _Joined:
    """The parts' bytes one after another, as one readable stream."""

    def __init__(self, parts: list[Upload]) -> None:
        self._files: Iterator[Any] = (_open_part(part) for part in parts)
        self._current: Any = next(self._files, None)

    def read(self, size: int = -1) -> bytes:
        while self._current is not None:
            data = self._current.read(size)
            if data:
                return data
            self._current.close()
            self._current = next(self._files, None)
        return b""

    def close(self) -> None:
        while self._current is not None:
            self._current.close()
            self._current = next(self._files, None)


def _join(final: Upload, parts: list[Upload]) -> None:
    """One pass over the parts into the store (SHA-256 and MD5 on the way), the checksum given
    at creation checked, the File stored, the parts removed."""
    _complete_parts(parts)
    joined = _Joined(parts)
    try:
        digest = storage.write_stream(joined, final.storage_key)  # type: ignore[arg-type]
    finally:
        joined.close()
    if digest.size != final.length:
        storage.delete_blob(final.storage_key)
        uploads._fail(final, f"the parts hold {digest.size} bytes, expected {final.length}", "size")
        return
    wrong = uploads._checksum_mismatch(final, digest)
    if wrong:
        storage.delete_blob(final.storage_key)
        uploads._fail(final, wrong, "checksum")
        return
    Upload.objects.filter(id=final.id).update(offset=final.length)
    final.offset = final.length or 0
    try:
        with transaction.atomic():
            stored = None if storage.is_s3() else storage.path_for(final.storage_key)
            uploads._store_completed(final, stored, digest, "concatenated")
            audit.record(final.owner, "upload.concatenate", final, project_id=final.project_id, parts=final.parts)
            Upload.objects.filter(id__in=[part.id for part in parts]).delete()
    except (Conflict, ValidationError, InvalidInput, ValueError, TypeError, DataError) as exc:
        # As for a whole upload (uploads._finalise): metadata refused at the last step fails it.
        storage.delete_blob(final.storage_key)
        uploads._fail(final, uploads._message(exc), "rejected")
        return
    for part in parts:
        _remove_part_bytes(part)
