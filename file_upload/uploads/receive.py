"""Receiving an upload: creating it (POST) and writing each PATCH body after its offset into
the part file or the object store, hashing as the bytes go by, checkpointing, and making the
bytes durable when the last one is in (then the same PATCH stores the file, or queues that).

Public surface: ``create_upload``, ``append_chunk``, ``READ_SIZE``, ``WRITEBACK_STEP``.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from authentication import audit
from file_project.domain import Conflict, InsufficientStorage, PayloadTooLarge
from file_project.errors import is_no_space

from .. import hashstate, services, storage
from ..models import Folder, Project, Upload, UploadState
from ..privacy import require_consent
from ..validators import normalise_name, validate_object_name
from . import finalise
from .errors import ChecksumMismatch, OffsetMismatch, UploadGone, UploadLocked
from .finalise import fail, finalise_here, streamed_digest
from .hashing import BackgroundHash
from .headers import CHECKSUM_ALGORITHMS, ChunkChecksum, expected_checksum
from .leases import Lease, release, try_lease
from .quota import check_length, check_quota
from .rows import extend_expiry, owned, part_path

log = logging.getLogger(__name__)


READ_SIZE = 1024 * 1024


WRITEBACK_STEP = 16 * 1024 * 1024


def create_upload(
    *,
    owner: Any,
    length: int | None,
    raw_metadata: str,
    project: Project,
    folder: Folder | None,
    metadata: dict[str, str],
) -> Upload:
    """Validate the target and metadata (the caller has checked the user may upload there)."""
    filename = normalise_name(metadata.get("filename") or metadata.get("name") or "")
    try:
        validate_object_name(filename)
    except ValidationError as exc:
        raise ValidationError({"filename": exc.messages}) from exc
    if folder is not None and folder.project_id != project.id:
        raise ValidationError({"folder": ["The folder belongs to another project."]})
    expected_checksum(metadata.get("checksum", ""))
    if length is not None:
        check_length(length)
        check_quota(owner, length, project)
    on_conflict = services.parse_on_conflict(metadata.get("on_conflict"))
    if on_conflict == services.OnConflict.REFUSE and services.existing_file(project, folder, filename):
        raise Conflict(f"A file named “{filename}” already exists in this folder.", code="name_conflict")
    consent = metadata.get("consent", "").strip().lower() in {"confirmed", "yes", "true", "1"}
    require_consent(owner, project, consent, via="tus", name=filename)
    upload = Upload(
        owner=owner,
        project=project,
        folder=folder,
        filename=filename,
        length=length,
        metadata=metadata,
        raw_metadata=raw_metadata[:8192],
    )
    extend_expiry(upload)
    with transaction.atomic():
        upload.save(force_insert=True)
        if not storage.is_s3():  # in the object store the first PATCH starts the multipart upload
            part_path(upload).touch(mode=0o640)
        audit.record(
            owner,
            "upload.start",
            upload,
            project_id=project.id,
            filename=filename,
            length=length,
            folder=folder.id if folder else None,
        )
    if length == 0:
        Upload.objects.filter(id=upload.id).update(**_receive(upload))
        finalise.enqueue_finalise(upload.id)
    return upload


def append_chunk(
    *,
    upload_id: uuid.UUID,
    owner: Any,
    offset: int,
    body: BinaryIO,
    content_length: int | None,
    checksum: ChunkChecksum | None = None,
    declared_length: int | None = None,
) -> Upload:
    """Write one PATCH body at ``offset``. Returns the upload with its new offset. Nothing
    changes on a mismatching offset, a bad checksum or a body that would run past the declared
    length. When the last byte is in (and durable, per ``BIOFM_UPLOAD_FSYNC``) the upload turns
    ``verifying`` and its finalisation is queued (``finalise_upload``)."""
    upload = owned(upload_id, owner)
    if upload.state in (UploadState.VERIFYING, UploadState.COMPLETED):
        return upload  # every byte is here already: a repeated last PATCH changes nothing
    lease = try_lease(upload.id)
    if lease is None:
        raise UploadLocked()
    upload = lease.upload
    received = False
    try:
        if upload.state in (UploadState.TERMINATED, UploadState.EXPIRED, UploadState.FAILED):
            raise UploadGone()  # ended between the look-up and the lease
        if upload.state != UploadState.ACTIVE:
            return upload
        if declared_length is not None:
            if upload.length is not None and upload.length != declared_length:
                raise ValidationError({"Upload-Length": ["The length is already set and cannot change."]})
            if upload.length is None:
                check_length(declared_length)
                check_quota(owner, declared_length, upload.project)
                upload.length = declared_length
        if offset != upload.offset:
            raise OffsetMismatch(f"The upload is at offset {upload.offset}, not {offset}.")
        limit = None if upload.length is None else upload.length - upload.offset
        if limit is not None and content_length is not None and content_length > limit:
            raise PayloadTooLarge(f"The body would run {content_length - limit} bytes past Upload-Length.")
        # A partial upload's own SHA-256 would serve nothing: its final upload hashes the whole.
        sha = _resume_hash(upload) if upload.concat != "partial" else None
        stream_into = _stream_into_store if storage.is_s3() else _stream_into_part
        chunk = _Chunk(upload, body, content_length, limit, checksum, sha)
        try:
            written = stream_into(lease, chunk)
        finally:
            chunk.hashing.finish()  # done already, unless the part file or the store failed first
        upload.offset += written
        if sha is not None and sha.length == upload.offset:
            upload.sha256_state = sha.state()
        elif written:  # the hash saw bytes that were then discarded, or was never there
            upload.sha256_state = None
        extend_expiry(upload)
        changes: dict[str, Any] = {
            "offset": upload.offset,
            "length": upload.length,
            "expires_at": upload.expires_at,
            "sha256_state": upload.sha256_state,
            "store_parts": upload.store_parts,
        }
        # A partial upload (tus concatenation) stays active at its full length: its final
        # upload stores it (file_upload.concat).
        received = upload.length is not None and upload.offset >= upload.length and upload.concat != "partial"
        if received:
            changes.update(_receive(upload))
        Upload.objects.filter(id=upload.id).update(**changes)
        if received and streamed_digest(upload) is not None:
            received = False  # stored here and now, under this PATCH's lease: nothing to queue
            finalise_here(upload)
        return upload
    finally:
        release(lease)
        if received:
            finalise.enqueue_finalise(upload.id)


def _resume_hash(upload: Upload) -> hashstate.ResumableSHA256 | None:
    """The upload's SHA-256 so far, to go on with; None when it cannot be had (then the
    finalisation reads the file)."""
    if not hashstate.available():
        return None
    if upload.offset == 0:
        return hashstate.ResumableSHA256()
    sha = hashstate.ResumableSHA256.restore(upload.sha256_state, upload.offset)
    if sha is None and upload.sha256_state is not None:
        log.warning("upload %s: the saved SHA-256 state does not fit offset %d", upload.id, upload.offset)
    return sha


class _BodyReader:
    """A PATCH body in blocks of at most ``READ_SIZE``, up to its Content-Length. Iteration ends
    early when the client goes away (the bytes that arrived count, as the tus spec asks) and
    raises ``PayloadTooLarge`` for a body running past ``limit``; ``missing`` is then what a
    declared Content-Length still lacked."""

    def __init__(self, upload_id: uuid.UUID, body: BinaryIO, content_length: int | None, limit: int | None) -> None:
        self.upload_id, self.body, self.limit = upload_id, body, limit
        self.missing = content_length

    def __iter__(self) -> Any:
        got = 0
        while self.missing is None or self.missing > 0:
            want = READ_SIZE if self.missing is None else min(READ_SIZE, self.missing)
            try:
                data = self.body.read(want)
            except OSError:  # the client went away mid-body
                log.info("upload %s: body broken after %d bytes", self.upload_id, got)
                return
            if not data:
                return
            if self.limit is not None and got + len(data) > self.limit:
                raise PayloadTooLarge("The body runs past Upload-Length.")
            got += len(data)
            if self.missing is not None:
                self.missing -= len(data)
            yield data


class _Chunk:
    """One PATCH body on its way in: its blocks (``_BodyReader``), hashed on the helper thread
    for the upload's SHA-256 and for the body's ``Upload-Checksum``, if any."""

    def __init__(
        self,
        upload: Upload,
        body: BinaryIO,
        content_length: int | None,
        limit: int | None,
        checksum: ChunkChecksum | None,
        sha: hashstate.ResumableSHA256 | None,
    ) -> None:
        self.checksum, self.sha = checksum, sha
        self.chunk_hash = CHECKSUM_ALGORITHMS[checksum.algorithm]() if checksum else None
        self.hashing = BackgroundHash(self.chunk_hash, sha)
        self.reader = _BodyReader(upload.id, body, content_length, limit)

    def counts(self, discard: Callable[[], object] = lambda: None) -> bool:
        """Once the body is read: whether its bytes count. A body with ``Upload-Checksum`` is
        kept whole and intact or not at all: when it broke off (the client sends it again) or
        does not match, ``discard`` drops what was written of it, and then False, or
        ``ChecksumMismatch`` for a whole body that does not match."""
        if self.checksum is None:
            return True
        if not self.reader.missing and self.chunk_hash.digest() == self.checksum.digest:  # type: ignore[union-attr]
            return True
        discard()
        if self.reader.missing:
            return False
        raise ChecksumMismatch()


def _stream_into_part(lease: Lease, chunk: _Chunk) -> int:
    """Copy the chunk's body after the current offset, feeding the upload's SHA-256 as the bytes
    go by; returns the number of bytes kept.

    On a checksum mismatch the part file is cut back and nothing is kept. On a broken body
    (client gone) the bytes that did arrive are kept, as the tus spec asks. With
    ``BIOFM_UPLOAD_FSYNC=completion`` the kernel is asked to start writing the bytes out as they
    arrive, so that the fdatasync after the last byte has little left to wait for. Every
    ``BIOFM_UPLOAD_CHECKPOINT_BYTES`` of a body without ``Upload-Checksum`` (which must be kept
    whole or not at all) the bytes so far are synced and the offset and hash state saved, so a
    worker killed mid-body costs the client at most that much."""
    upload, hashing, sha = lease.upload, chunk.hashing, chunk.sha
    path = part_path(upload)
    early_writeback = settings.BIOFM_UPLOAD_FSYNC == "completion"
    step = settings.BIOFM_UPLOAD_CHECKPOINT_BYTES if chunk.checksum is None else 0
    written = flushed = kept = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o640)
    try:
        if os.fstat(fd).st_size > upload.offset:  # bytes past the last checkpoint of a killed PATCH
            os.ftruncate(fd, upload.offset)
        os.lseek(fd, upload.offset, os.SEEK_SET)
        try:
            for data in chunk.reader:
                hashing.update(data)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                written += len(data)
                if early_writeback and written - flushed >= WRITEBACK_STEP:
                    storage.start_writeback(fd, upload.offset + flushed, written - flushed)
                    flushed = written
                if step and written - kept >= step:
                    _checkpoint(lease, fd, upload.offset + written, hashing, sha)
                    kept = written
        finally:
            hashing.finish()
        if not chunk.counts(discard=lambda: os.ftruncate(fd, upload.offset)):
            return 0
        if settings.BIOFM_UPLOAD_FSYNC == "chunk":
            os.fdatasync(fd)
        elif early_writeback:
            storage.start_writeback(fd, upload.offset + flushed, written - flushed)
    except PayloadTooLarge:
        os.ftruncate(fd, upload.offset + kept)
        raise
    except OSError as exc:
        if not is_no_space(exc):
            raise
        # Disk full: drop the bytes since the last checkpoint (the fragment), keep what was
        # acknowledged so the upload can resume once there is room, and say so.
        os.ftruncate(fd, upload.offset + kept)
        raise _storage_full(upload, upload.offset + kept, exc) from exc
    finally:
        os.close(fd)
    return written


def _stream_into_store(lease: Lease, chunk: _Chunk) -> int:
    """``_stream_into_part`` for the object store (``tus_store``): the bytes go into the
    upload's multipart upload, one part at each part boundary, the rest into the kept tail.
    Without ``Upload-Checksum`` the offset, the parts and the hash state are saved at every
    part boundary (a node killed mid-body costs at most a part); with it, nothing of the chunk
    counts until its checksum matched, and the parts it sent are sent again by the next try."""
    from .. import tus_store

    upload, hashing, sha = lease.upload, chunk.hashing, chunk.sha
    written = 0
    kept = upload.offset  # what the row says is stored: moves at each part boundary (no checksum)
    try:
        writer = tus_store.PartWriter(upload)  # the first PATCH starts the multipart upload
        for data in chunk.reader:
            view = memoryview(data)
            while view:  # cut at part boundaries, so a checkpoint's hash covers exactly its bytes
                piece = view[: writer.room()]
                hashing.update(bytes(piece))
                writer.append(piece)
                written += len(piece)
                view = view[len(piece) :]
                if writer.full():
                    writer.send_part()
                    if chunk.checksum is None:
                        _save_offset(lease, writer.start, hashing, sha, store_parts=writer.parts)
                        kept = writer.start
        hashing.wait()  # every byte read is hashed
        if not chunk.counts():  # the parts it sent are sent again by the next try
            return 0
        writer.save_tail()
    except Exception as exc:
        if not is_no_space(exc):
            raise
        # The store has no room: what the row acknowledged stays (its parts, its tail), the
        # bytes since are dropped, and the upload resumes from there once there is room.
        raise _storage_full(upload, kept, exc) from exc
    finally:
        hashing.finish()
    upload.store_parts = writer.parts
    return written


def _storage_full(upload: Upload, kept: int, exc: BaseException) -> InsufficientStorage:
    """The 507 of a PATCH whose bytes found no room (a full disk, an object store refusing the
    write): the upload keeps the ``kept`` bytes acknowledged so far."""
    log.warning("upload %s: storage full at offset %d: %s", upload.id, kept, exc)
    return InsufficientStorage(
        "The server's storage is full: the rest of this chunk was not stored. The upload keeps the "
        f"{kept} bytes received; resume later, or cancel it (DELETE) to free them."
    )


def _checkpoint(
    lease: Lease, fd: int, offset: int, hashing: BackgroundHash, sha: hashstate.ResumableSHA256 | None
) -> None:
    """Make the bytes up to ``offset`` durable, then save that offset with the hash state of
    exactly those bytes (HEAD reports it; a killed worker's successor resumes from it)."""
    if settings.BIOFM_UPLOAD_FSYNC != "off":
        os.fdatasync(fd)
    _save_offset(lease, offset, hashing, sha)


def _save_offset(
    lease: Lease, offset: int, hashing: BackgroundHash, sha: hashstate.ResumableSHA256 | None, **changes: Any
) -> None:
    """Save ``offset`` (and ``changes``) with the hash state of exactly the bytes before it,
    while the lease is still this request's."""
    hashing.wait()  # the helper thread has hashed every byte written so far, and no more
    state = sha.state() if sha is not None and sha.length == offset else None
    Upload.objects.filter(id=lease.upload.id, lock_token=lease.token).update(
        offset=offset, sha256_state=state, updated_at=timezone.now(), **changes
    )


def _fdatasync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fdatasync(fd)
    finally:
        os.close(fd)


def _receive(upload: Upload) -> dict[str, Any]:
    """The last byte is in: make the bytes durable (unless ``BIOFM_UPLOAD_FSYNC=off``) and turn
    the upload ``verifying``. Returns the row changes, which the caller writes together with the
    final offset, so no upload can be left at its full length but still ``active``."""
    path = part_path(upload)
    try:
        if settings.BIOFM_UPLOAD_FSYNC != "off" and not storage.is_s3():
            _fdatasync(path)
    except OSError as exc:
        if not is_no_space(exc):
            raise
        fail(upload, "storage full", "storage full", path)
        raise InsufficientStorage(
            "The server's storage filled up while the file was being stored; the upload was discarded. "
            "Upload it again once there is room."
        ) from exc
    now = timezone.now()
    # The key the bytes will be stored under is chosen now, in the same write, so a finalisation
    # interrupted after moving them finds them there.
    upload.storage_key = upload.storage_key or storage.new_key()
    upload.state, upload.received_at, upload.queued_at = UploadState.VERIFYING, now, now
    return {"state": UploadState.VERIFYING, "received_at": now, "queued_at": now, "storage_key": upload.storage_key}
