"""Finalising a received upload: its SHA-256 from the saved state (or a re-read), the
``checksum`` given at creation, and the File stored through ``services.store_file``; the Celery
task ``finalise_upload`` and the sweep ``requeue_stale_finalisations`` for a finalisation a dead
worker left behind; ``fail`` ends an upload for good.

Public surface: ``finalise_upload``, ``requeue_stale_finalisations``, ``enqueue_finalise``,
``finalise_here``, ``fail``, ``store_completed``, ``streamed_digest``, ``message``.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from pathlib import Path
from typing import cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DataError, transaction
from django.db.models import Q
from django.utils import timezone

from authentication import audit
from background.enqueue import enqueue
from file_project.domain import Conflict, InvalidInput
from file_project.errors import is_no_space

from .. import hashstate, services, storage
from ..models import Folder, Project, Upload, UploadMethod, UploadState
from .hashing import hash_file, hash_stream
from .headers import expected_checksum
from .leases import release, try_lease
from .rows import part_path

log = logging.getLogger(__name__)


def finalise_here(upload: Upload) -> None:
    """The last PATCH stores the file itself. Anything unforeseen leaves the upload
    ``verifying`` with its bytes, for the Celery task (queued now, or by the sweep)."""
    try:
        _finalise(upload)
    except Exception:
        log.exception("storing upload %s after its last byte failed; queueing it", upload.id)
        enqueue_finalise(upload.id)


def enqueue_finalise(upload_id: uuid.UUID) -> None:
    # The bytes are safe on disk: a finalisation that could not be queued, the stale sweep queues.
    enqueue("file_upload.finalise_upload", str(upload_id))


# --- finalisation (a Celery task) ------------------------------------------------------------


def finalise_upload(upload_id: uuid.UUID | str) -> Upload | None:
    """Store a fully received upload whose last PATCH could not: take its SHA-256 from the
    saved state or, when that is lost, hash the whole file (SHA-256 and MD5), check the
    ``checksum`` given at creation, move the bytes into the store and create the File through
    ``services.store_file`` (which queues parsing, and the MD5 when it is not known yet), all
    under the upload's lease, renewed while the work lasts. Idempotent: a second run for the
    same upload (a redelivered message, the stale sweep) finds it finished, or held by a live
    run, and does nothing; a run that died half-way is taken over from wherever it stopped."""
    upload: Upload | None = Upload.objects.filter(id=upload_id).first()
    if upload is None or upload.state != UploadState.VERIFYING:
        return upload
    lease = try_lease(upload.id, state=UploadState.VERIFYING)
    if lease is None:
        log.info("upload %s is being finalised elsewhere", upload.id)
        return upload
    try:
        _finalise(lease.upload)
    finally:
        release(lease)
    upload.refresh_from_db()
    return upload


def _finalise(upload: Upload) -> None:
    if upload.concat == "final":  # its bytes are its partial uploads'
        from ..concat import finalise_final

        finalise_final(upload)
        return
    if not upload.storage_key:
        upload.storage_key = storage.new_key()
        Upload.objects.filter(id=upload.id).update(storage_key=upload.storage_key)
    if storage.is_s3():
        source = stored = None
        try:
            found = _completed_in_store(upload)
        except Exception as exc:
            if not is_no_space(exc):
                raise  # the upload stays "verifying" with its parts; the sweep tries again
            fail(upload, "storage full", "storage full")
            return
        if found is None:
            fail(upload, "the received bytes are missing from the store", "missing")
            return
        sha256 = streamed_digest(upload)
        if sha256 is not None:
            digest, hashed = storage.Digest(found, sha256, ""), "while receiving"
        else:
            log.info("upload %s: no usable SHA-256 state; reading the object to hash it", upload.id)
            with storage.open_blob(upload.storage_key) as handle:
                digest, hashed = hash_stream(handle), "re-read"
    else:
        part, stored = part_path(upload), storage.path_for(upload.storage_key)
        # A run that died after moving the bytes into the store left them under the key.
        source = part if part.exists() else stored if stored.exists() else None
        if source is None:
            fail(upload, "the received bytes are missing from the server", "missing")
            return
        sha256 = streamed_digest(upload)
        if sha256 is not None:  # hashed while the bytes arrived: nothing to read
            digest, hashed = storage.Digest(source.stat().st_size, sha256, ""), "while receiving"
        else:
            log.info("upload %s: no usable SHA-256 state; reading the file to hash it", upload.id)
            digest, hashed = hash_file(source), "re-read"
    if digest.size != upload.offset:
        fail(upload, f"{digest.size} bytes on disk, {upload.offset} received", "size", source)
        return
    wrong = checksum_mismatch(upload, digest)
    if wrong:
        fail(upload, wrong, "checksum", source)
        return
    try:
        with transaction.atomic():
            store_completed(upload, source, digest, hashed)
    except (
        Conflict,
        ValidationError,
        InvalidInput,
        ValueError,
        TypeError,
        OverflowError,
        DataError,
    ) as exc:
        # Metadata the creation check did not see (uploads created before it existed) fails the
        # upload for good instead of leaving it "verifying" for the sweep to retry forever.
        fail(upload, failure_message(exc), "rejected", source, stored)
    except OSError as exc:
        if not is_no_space(exc):
            raise  # the upload stays "verifying" with its bytes; the sweep tries again
        fail(upload, "storage full", "storage full", source, stored)


def _completed_in_store(upload: Upload) -> int | None:
    """The size of the upload's object in the store, completing its multipart upload first
    when a dead run has not; None when the bytes are gone. A store without room for the
    completion raises (``is_no_space``)."""
    from botocore.exceptions import ClientError

    from .. import tus_store

    if not storage.exists(upload.storage_key):
        try:
            tus_store.complete(upload)
        except ClientError as exc:
            if is_no_space(exc):
                raise
            log.warning("upload %s: completing the multipart upload failed: %s", upload.id, exc)
            return None
    return storage.stat(upload.storage_key)[0]


def checksum_mismatch(upload: Upload, digest: storage.Digest) -> str | None:
    """Why the whole file fails the ``checksum`` given at the upload's creation; None when it
    matches or none was given."""
    expected = expected_checksum(upload.metadata.get("checksum", ""))
    if expected is None:
        return None
    algorithm, value = expected
    actual = digest.sha256 if algorithm == "sha256" else digest.md5
    return None if actual == value else f"{algorithm} of the whole file was {actual}, expected {value}"


def failure_message(exc: Exception) -> str:
    detail = getattr(exc, "detail", None) or getattr(exc, "messages", None) or str(exc)
    return str(detail)[:1000]


def fail(upload: Upload, error: str, reason: str, *remove: Path | None) -> None:
    """The upload failed for good: its bytes go (``remove``; in the object store its multipart
    upload, tail and any completed object), the status says why, audited."""
    for path in remove:
        if path is not None:
            path.unlink(missing_ok=True)
    if storage.is_s3():
        from .. import tus_store

        tus_store.discard(upload, stored_object=True)
    Upload.objects.filter(id=upload.id).update(state=UploadState.FAILED, error=error[:1000])
    upload.state, upload.error = UploadState.FAILED, error[:1000]
    audit.record(upload.owner, "upload.failed", upload, project_id=upload.project_id, reason=reason)


def _on_conflict(upload: Upload) -> services.OnConflict | None:
    """The upload's explicit choice (replace or keep both); None when it asked to refuse."""
    choice = services.parse_on_conflict(upload.metadata.get("on_conflict"))
    return None if choice == services.OnConflict.REFUSE else choice


def streamed_digest(upload: Upload) -> str | None:
    """The whole file's SHA-256 as computed while its bytes arrived, when the saved state covers
    every byte and the ``checksum`` given at creation (if any) needs nothing else; None
    otherwise (an ``md5:`` checksum, or a state that was lost), and the file is read."""
    expected = expected_checksum(upload.metadata.get("checksum", ""))
    if expected is not None and expected[0] != "sha256":
        return None
    sha = hashstate.ResumableSHA256.restore(upload.sha256_state, upload.offset)
    return sha.hexdigest() if sha is not None else None


def store_completed(upload: Upload, path: Path | None, digest: storage.Digest, hashed: str) -> None:
    metadata = {k: v for k, v in upload.metadata.items() if k in services.METADATA_FIELD_NAMES and v}
    tags = [t for t in upload.metadata.get("tags", "").split(",") if t.strip()]
    folder = Folder.objects.filter(id=upload.folder_id).first() if upload.folder_id else None
    file = services.store_file(
        project=cast(Project, upload.project),  # every upload is made in a project
        folder=folder,
        name=upload.filename,
        owner=upload.owner,
        temp_path=path,
        digest=digest,
        upload_method=UploadMethod.TUS,
        metadata=metadata,
        tags=tags,
        description=upload.metadata.get("description", ""),
        content_type=upload.metadata.get("filetype", "") or upload.metadata.get("type", ""),
        storage_key=upload.storage_key,
        # Decided when the upload was created (``on_conflict`` in Upload-Metadata); a name taken
        # while the bytes travelled is kept beside the newcomer rather than failing the upload.
        on_conflict=_on_conflict(upload) or services.OnConflict.KEEP_BOTH,
    )
    upload.state, upload.file = UploadState.COMPLETED, file
    Upload.objects.filter(id=upload.id).update(state=UploadState.COMPLETED, file=file)
    audit.record(
        upload.owner,
        "upload.complete",
        upload,
        project_id=upload.project_id,
        file=file.id,
        sha256=file.sha256,
        md5=file.md5,
        hashed=hashed,
    )


def requeue_stale_finalisations(older_than: timedelta | None = None) -> list[str]:
    """Queue again the finalisations of ``verifying`` uploads that nobody works on (no live
    lease) and that were last queued more than ``older_than`` ago (default
    ``BIOFM_UPLOAD_FINALISE_STALE_SECONDS``): a worker died, or the broker lost the message or
    was down when the last byte arrived. The periodic sweep calls this."""
    now = timezone.now()
    if older_than is None:
        older_than = timedelta(seconds=settings.BIOFM_UPLOAD_FINALISE_STALE_SECONDS)
    stale = Upload.objects.filter(state=UploadState.VERIFYING, queued_at__lte=now - older_than).filter(
        Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    )
    ids = [
        upload_id
        for upload_id in list(stale.values_list("id", flat=True)[:10000])
        if stale.filter(id=upload_id).update(queued_at=now)  # a run that just started wins
    ]
    for upload_id in ids:
        log.warning("re-queueing the finalisation of upload %s (stale)", upload_id)
        enqueue_finalise(upload_id)
    return [str(upload_id) for upload_id in ids]
