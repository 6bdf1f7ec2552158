"""Resumable uploads (tus): the services behind ``/api/uploads/``.

An ``Upload`` row holds the state (offset, length, target, expiry, lease) and a part file under
``UPLOAD_TMP_DIR/tus/<id>.part`` holds the bytes, so any worker on any node can take the next
PATCH and a restart loses nothing. A PATCH takes a short lease on the row instead of a database
lock (a PATCH may stream for minutes), streams the body to the part file in bounded chunks
while a helper thread computes the SHA-256 (``hashstate``: a state saved with the offset, so
the next PATCH goes on hashing on any worker), verifies an optional per-chunk checksum, makes
the bytes durable, and only then advances the offset — during a long body every
``BIOFM_UPLOAD_CHECKPOINT_BYTES`` too. When the last byte is in and durable, the same PATCH
checks the optional ``checksum`` given at creation against that SHA-256 and stores the file
through ``services.store_file`` like every other front door (the MD5 follows in the background);
the status then says ``completed`` with the File, or ``failed`` with the reason. Only when the
hash state was lost (or the ``checksum`` is an MD5) does the upload turn ``verifying`` for a
Celery task (``finalise_upload``) that reads the file to hash it. ``requeue_stale_finalisations``
re-queues a finalisation whose worker died.

Public surface: ``create_upload``, ``append_chunk``, ``finalise_upload``, ``terminate_upload``,
``upload_status``, ``cleanup_uploads``, ``requeue_stale_finalisations``, ``check_quota``,
``part_path``, ``parse_metadata``, ``hash_file``, ``ChunkChecksum``, and the errors
``UploadGone``, ``OffsetMismatch``, ``UploadLocked``, ``ChecksumMismatch``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import queue
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DataError, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from rest_framework import exceptions, status

from authentication import audit
from background.enqueue import enqueue
from file_project.errors import Conflict, InsufficientStorage, PayloadTooLarge, is_no_space

from . import hashstate, services, storage
from .models import File, Folder, Project, Upload, UploadMethod, UploadState
from .privacy import require_consent
from .validators import normalise_name, validate_object_name

log = logging.getLogger(__name__)

READ_SIZE = 1024 * 1024
HASH_READ_SIZE = 4 * 1024 * 1024
WRITEBACK_STEP = 16 * 1024 * 1024
# Uploads whose bytes count against a quota before they are a File.
PENDING_STATES = (UploadState.ACTIVE, UploadState.VERIFYING)
CHECKSUM_ALGORITHMS = {"sha1": hashlib.sha1, "md5": hashlib.md5, "sha256": hashlib.sha256}


class UploadGone(exceptions.APIException):
    status_code = status.HTTP_410_GONE
    default_detail = "This upload expired or was cancelled; start it again."
    default_code = "upload_gone"


class OffsetMismatch(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Upload-Offset does not match the upload's current offset."
    default_code = "offset_mismatch"


class UploadLocked(exceptions.APIException):
    status_code = status.HTTP_423_LOCKED
    default_detail = "Another request is writing to this upload; retry shortly."
    default_code = "locked"


class ChecksumMismatch(exceptions.APIException):
    status_code = 460
    default_detail = "The checksum of the data does not match Upload-Checksum; the chunk was discarded."
    default_code = "checksum_mismatch"


@dataclass(frozen=True)
class ChunkChecksum:
    algorithm: str
    digest: bytes

    @classmethod
    def parse(cls, header: str) -> ChunkChecksum:
        """``Upload-Checksum: <algorithm> <base64 digest>``; unsupported or malformed → 400."""
        parts = header.strip().split(" ")
        if len(parts) != 2 or parts[0] not in CHECKSUM_ALGORITHMS:
            raise exceptions.ValidationError(
                {"Upload-Checksum": [f"Expected “<{'|'.join(CHECKSUM_ALGORITHMS)}> <base64 digest>”."]}
            )
        try:
            digest = base64.b64decode(parts[1], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise exceptions.ValidationError({"Upload-Checksum": ["The digest is not valid base64."]}) from exc
        return cls(parts[0], digest)


# --- metadata --------------------------------------------------------------------------------


def parse_metadata(header: str) -> dict[str, str]:
    """Decode ``Upload-Metadata`` (``key b64,key2 b64,flag``); an empty header is no metadata."""
    result: dict[str, str] = {}
    for item in header.split(","):
        item = item.strip()
        if not item:
            continue
        key, _, value = item.partition(" ")
        if not key or " " in value.strip() or key in result:
            raise exceptions.ValidationError({"Upload-Metadata": [f"Malformed or repeated key “{key[:40]}”."]})
        try:
            result[key] = base64.b64decode(value.strip(), validate=True).decode("utf-8") if value else ""
        except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
            raise exceptions.ValidationError(
                {"Upload-Metadata": [f"The value of “{key[:40]}” is not base64-encoded UTF-8."]}
            ) from exc
        if "\x00" in result[key] or "\x00" in key:
            raise exceptions.ValidationError({"Upload-Metadata": [f"The value of “{key[:40]}” contains NUL."]})
    return result


def _expected_checksum(value: str) -> tuple[str, str] | None:
    """``checksum`` metadata: ``sha256:<hex>``, ``sha256 <hex>``, ``md5:<hex>`` (or a bare
    64-hex SHA-256)."""
    value = value.strip().lower()
    if not value:
        return None
    algorithm, sep, digest = value.replace(" ", ":").partition(":")
    if not sep:
        algorithm, digest = "sha256", algorithm
    lengths = {"sha256": 64, "md5": 32}
    hex_digits = set("0123456789abcdef")
    if algorithm not in lengths or len(digest) != lengths[algorithm] or not set(digest) <= hex_digits:
        raise exceptions.ValidationError({"checksum": ["Expected “sha256:<64 hex digits>” or “md5:<32 hex digits>”."]})
    return algorithm, digest


# --- paths, quota, expiry ---------------------------------------------------------------------


def part_dir() -> Path:
    path = Path(settings.UPLOAD_TMP_DIR) / "tus"
    path.mkdir(parents=True, exist_ok=True)
    return path


def part_path(upload: Upload) -> Path:
    return part_dir() / f"{upload.id}.part"


def check_quota(user: Any, extra_bytes: int, project: Project | None = None) -> None:
    """413 when the user's stored files plus active uploads plus ``extra_bytes`` exceed
    ``BIOFM_USER_QUOTA_BYTES`` (0 = no quota), or the same for the project exceeds its
    ``quota_bytes`` (null = no quota)."""
    if project is not None and project.quota_bytes is not None:
        _check_project_quota(project, extra_bytes)
    quota = settings.BIOFM_USER_QUOTA_BYTES
    if not quota:
        return
    stored = File.objects.alive().filter(owner=user).aggregate(total=Sum("size"))["total"] or 0
    pending = (
        Upload.objects.filter(owner=user, state__in=PENDING_STATES, length__isnull=False).aggregate(
            total=Sum("length")
        )["total"]
        or 0
    )
    if stored + pending + extra_bytes > quota:
        raise PayloadTooLarge(
            f"This would exceed your storage quota of {quota} bytes ({stored + pending} in use or on the way).",
            code="quota_exceeded",
        )


def _check_project_quota(project: Project, extra_bytes: int) -> None:
    quota = project.quota_bytes or 0
    stored = File.objects.alive().filter(project=project).aggregate(total=Sum("size"))["total"] or 0
    pending = (
        Upload.objects.filter(project=project, state__in=PENDING_STATES, length__isnull=False).aggregate(
            total=Sum("length")
        )["total"]
        or 0
    )
    if stored + pending + extra_bytes > quota:
        raise PayloadTooLarge(
            f"This would exceed the project's storage quota of {quota} bytes "
            f"({stored + pending} in use or on the way).",
            code="quota_exceeded",
        )


def _check_length(length: int) -> None:
    if length > settings.BIOFM_MAX_UPLOAD_BYTES:
        raise PayloadTooLarge(f"Uploads are limited to {settings.BIOFM_MAX_UPLOAD_BYTES} bytes (Tus-Max-Size).")


def is_expired(upload: Upload) -> bool:
    return upload.state == UploadState.ACTIVE and upload.expires_at <= timezone.now()


def _extend_expiry(upload: Upload) -> None:
    upload.expires_at = timezone.now() + timedelta(hours=settings.BIOFM_UPLOAD_EXPIRY_HOURS)


# --- lifecycle -------------------------------------------------------------------------------


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
        raise exceptions.ValidationError({"filename": exc.messages}) from exc
    if folder is not None and folder.project_id != project.id:
        raise exceptions.ValidationError({"folder": ["The folder belongs to another project."]})
    _expected_checksum(metadata.get("checksum", ""))
    if length is not None:
        _check_length(length)
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
    _extend_expiry(upload)
    with transaction.atomic():
        upload.save(force_insert=True)
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
        _enqueue_finalise(upload.id)
    return upload


def lease_seconds() -> int:
    return int(settings.BIOFM_UPLOAD_LEASE_SECONDS)


class _Lease:
    """An upload's lease, kept alive by a heartbeat thread for as long as its holder works on it
    (streaming a body, hashing and storing a finished file, however long that takes). A holder
    killed with SIGKILL stops renewing, so the upload is free again after at most
    ``BIOFM_UPLOAD_LEASE_SECONDS``, not after the longest PATCH anyone could send."""

    def __init__(self, upload: Upload, token: uuid.UUID) -> None:
        self.upload = upload
        self.token = token
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"upload-lease-{upload.id}", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        from django.db import connection

        try:
            while not self._stop.wait(max(lease_seconds() / 3, 0.2)):
                Upload.objects.filter(id=self.upload.id, lock_token=self.token).update(
                    locked_until=timezone.now() + timedelta(seconds=lease_seconds())
                )
        except Exception:  # the request's own work decides the outcome; a missed beat is logged
            log.exception("renewing the lease of upload %s failed", self.upload.id)
        finally:
            connection.close()  # this thread's own connection

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _owned(upload_id: uuid.UUID, owner: Any) -> Upload:
    """The caller's upload; unknown or someone else's → 404, expired or ended → 410."""
    upload = Upload.objects.filter(id=upload_id, owner=owner).first()
    if upload is None:
        raise exceptions.NotFound("No such upload.")
    if upload.state in (UploadState.TERMINATED, UploadState.EXPIRED, UploadState.FAILED) or is_expired(upload):
        raise UploadGone()
    return upload


def _try_lease(upload_id: uuid.UUID, **conditions: Any) -> _Lease | None:
    """Take the upload's lease if nobody holds it (and the row matches ``conditions``)."""
    token = uuid.uuid4()
    now = timezone.now()
    taken = (
        Upload.objects.filter(id=upload_id, **conditions)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(lock_token=token, locked_until=now + timedelta(seconds=lease_seconds()))
    )
    if not taken:
        return None
    return _Lease(Upload.objects.get(id=upload_id), token)


def _release(lease: _Lease) -> None:
    lease.stop()
    Upload.objects.filter(id=lease.upload.id, lock_token=lease.token).update(lock_token=None, locked_until=None)


class _BackgroundHash:
    """Feeds hash objects from a helper thread so hashing overlaps the reads and writes
    (hashlib and ``hashstate`` release the GIL while they hash). A bounded queue keeps memory
    flat. ``wait()`` returns once everything queued so far is hashed."""

    def __init__(self, *hashers: Any, depth: int = 8) -> None:
        self.hashers = [h for h in hashers if h is not None]
        self.queue: queue.Queue[bytes | threading.Event | None] = queue.Queue(maxsize=depth)
        self.thread = threading.Thread(target=self._run, daemon=True) if self.hashers else None
        if self.thread:
            self.thread.start()

    def _run(self) -> None:
        while (data := self.queue.get()) is not None:
            if isinstance(data, threading.Event):
                data.set()
                continue
            for hasher in self.hashers:
                hasher.update(data)

    def update(self, data: bytes) -> None:
        if self.thread:
            self.queue.put(data)

    def wait(self) -> None:
        if self.thread:
            caught_up = threading.Event()
            self.queue.put(caught_up)
            caught_up.wait()

    def finish(self) -> None:
        if self.thread:
            self.queue.put(None)
            self.thread.join()


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
    upload = _owned(upload_id, owner)
    if upload.state in (UploadState.VERIFYING, UploadState.COMPLETED):
        return upload  # every byte is here already: a repeated last PATCH changes nothing
    lease = _try_lease(upload.id)
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
                raise exceptions.ValidationError({"Upload-Length": ["The length is already set and cannot change."]})
            if upload.length is None:
                _check_length(declared_length)
                check_quota(owner, declared_length, upload.project)
                upload.length = declared_length
        if offset != upload.offset:
            raise OffsetMismatch(f"The upload is at offset {upload.offset}, not {offset}.")
        limit = None if upload.length is None else upload.length - upload.offset
        if limit is not None and content_length is not None and content_length > limit:
            raise PayloadTooLarge(f"The body would run {content_length - limit} bytes past Upload-Length.")
        # A partial upload's own SHA-256 would serve nothing: its final upload hashes the whole.
        sha = _resume_hash(upload) if upload.concat != "partial" else None
        written = _stream_into_part(lease, body, content_length, limit, checksum, sha)
        upload.offset += written
        if sha is not None and sha.length == upload.offset:
            upload.sha256_state = sha.state()
        elif written:  # the hash saw bytes that were then discarded, or was never there
            upload.sha256_state = None
        _extend_expiry(upload)
        changes: dict[str, Any] = {
            "offset": upload.offset,
            "length": upload.length,
            "expires_at": upload.expires_at,
            "sha256_state": upload.sha256_state,
        }
        # A partial upload (tus concatenation) stays active at its full length: its final
        # upload stores it (file_upload.concat).
        received = upload.length is not None and upload.offset >= upload.length and upload.concat != "partial"
        if received:
            changes.update(_receive(upload))
        Upload.objects.filter(id=upload.id).update(**changes)
        if received and _streamed_digest(upload) is not None:
            received = False  # stored here and now, under this PATCH's lease: nothing to queue
            _finalise_here(upload)
        return upload
    finally:
        _release(lease)
        if received:
            _enqueue_finalise(upload.id)


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


def _finalise_here(upload: Upload) -> None:
    """The last PATCH stores the file itself. Anything unforeseen leaves the upload
    ``verifying`` with its bytes, for the Celery task (queued now, or by the sweep)."""
    try:
        _finalise(upload)
    except Exception:
        log.exception("storing upload %s after its last byte failed; queueing it", upload.id)
        _enqueue_finalise(upload.id)


def _stream_into_part(
    lease: _Lease,
    body: BinaryIO,
    content_length: int | None,
    limit: int | None,
    checksum: ChunkChecksum | None,
    sha: hashstate.ResumableSHA256 | None = None,
) -> int:
    """Copy the body after the current offset, feeding ``sha`` as the bytes go by; returns the
    number of bytes kept.

    On a checksum mismatch the part file is cut back and nothing is kept. On a broken body
    (client gone) the bytes that did arrive are kept, as the tus spec asks. With
    ``BIOFM_UPLOAD_FSYNC=completion`` the kernel is asked to start writing the bytes out as they
    arrive, so that the fdatasync after the last byte has little left to wait for. Every
    ``BIOFM_UPLOAD_CHECKPOINT_BYTES`` of a body without ``Upload-Checksum`` (which must be kept
    whole or not at all) the bytes so far are synced and the offset and hash state saved, so a
    worker killed mid-body costs the client at most that much."""
    upload = lease.upload
    path = part_path(upload)
    chunk_hash = CHECKSUM_ALGORITHMS[checksum.algorithm]() if checksum else None
    hashing = _BackgroundHash(chunk_hash, sha)
    early_writeback = settings.BIOFM_UPLOAD_FSYNC == "completion"
    step = settings.BIOFM_UPLOAD_CHECKPOINT_BYTES if checksum is None else 0
    written = flushed = kept = 0
    to_read = content_length
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o640)
    try:
        if os.fstat(fd).st_size > upload.offset:  # bytes past the last checkpoint of a killed PATCH
            os.ftruncate(fd, upload.offset)
        os.lseek(fd, upload.offset, os.SEEK_SET)
        try:
            while to_read is None or to_read > 0:
                want = READ_SIZE if to_read is None else min(READ_SIZE, to_read)
                try:
                    data = body.read(want)
                except OSError:  # the client went away mid-body
                    log.info("upload %s: body broken after %d bytes", upload.id, written)
                    break
                if not data:
                    break
                if limit is not None and written + len(data) > limit:
                    raise PayloadTooLarge("The body runs past Upload-Length.")
                hashing.update(data)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                written += len(data)
                if to_read is not None:
                    to_read -= len(data)
                if early_writeback and written - flushed >= WRITEBACK_STEP:
                    storage.start_writeback(fd, upload.offset + flushed, written - flushed)
                    flushed = written
                if step and written - kept >= step:
                    _checkpoint(lease, fd, upload.offset + written, hashing, sha)
                    kept = written
        finally:
            hashing.finish()
        if checksum is not None and (to_read or chunk_hash.digest() != checksum.digest):  # type: ignore[union-attr]
            # A checksummed chunk is kept whole and intact, or not at all.
            os.ftruncate(fd, upload.offset)
            if to_read:
                return 0
            raise ChecksumMismatch()
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
        log.warning("upload %s: storage full at offset %d", upload.id, upload.offset + kept)
        raise InsufficientStorage(
            "The server's storage is full: the rest of this chunk was not stored. The upload keeps the "
            f"{upload.offset + kept} bytes received; resume later, or cancel it (DELETE) to free them."
        ) from exc
    finally:
        os.close(fd)
    return written


def _checkpoint(
    lease: _Lease, fd: int, offset: int, hashing: _BackgroundHash, sha: hashstate.ResumableSHA256 | None
) -> None:
    """Make the bytes up to ``offset`` durable, then save that offset with the hash state of
    exactly those bytes (HEAD reports it; a killed worker's successor resumes from it)."""
    if settings.BIOFM_UPLOAD_FSYNC != "off":
        os.fdatasync(fd)
    hashing.wait()  # the helper thread has hashed every byte written so far, and no more
    state = sha.state() if sha is not None and sha.length == offset else None
    Upload.objects.filter(id=lease.upload.id, lock_token=lease.token).update(
        offset=offset, sha256_state=state, updated_at=timezone.now()
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
        if settings.BIOFM_UPLOAD_FSYNC != "off":
            _fdatasync(path)
    except OSError as exc:
        if not is_no_space(exc):
            raise
        _fail(upload, "storage full", "storage full", path)
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


def _enqueue_finalise(upload_id: uuid.UUID) -> None:
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
    upload = Upload.objects.filter(id=upload_id).first()
    if upload is None or upload.state != UploadState.VERIFYING:
        return upload
    lease = _try_lease(upload.id, state=UploadState.VERIFYING)
    if lease is None:
        log.info("upload %s is being finalised elsewhere", upload.id)
        return upload
    try:
        _finalise(lease.upload)
    finally:
        _release(lease)
    upload.refresh_from_db()
    return upload


def _finalise(upload: Upload) -> None:
    if upload.concat == "final":  # its bytes are its partial uploads'
        from .concat import finalise_final

        finalise_final(upload)
        return
    if not upload.storage_key:
        upload.storage_key = storage.new_key()
        Upload.objects.filter(id=upload.id).update(storage_key=upload.storage_key)
    part, stored = part_path(upload), storage.path_for(upload.storage_key)
    # A run that died after moving the bytes into the store left them under the key.
    source = part if part.exists() else stored if stored.exists() else None
    if source is None:
        _fail(upload, "the received bytes are missing from the server", "missing")
        return
    sha256 = _streamed_digest(upload)
    if sha256 is not None:  # hashed while the bytes arrived: nothing to read
        digest, hashed = storage.Digest(source.stat().st_size, sha256, ""), "while receiving"
    else:
        log.info("upload %s: no usable SHA-256 state; reading the file to hash it", upload.id)
        digest, hashed = hash_file(source), "re-read"
    if digest.size != upload.offset:
        _fail(upload, f"{digest.size} bytes on disk, {upload.offset} received", "size", source)
        return
    expected = _expected_checksum(upload.metadata.get("checksum", ""))
    if expected is not None:
        algorithm, value = expected
        actual = digest.sha256 if algorithm == "sha256" else digest.md5
        if actual != value:
            _fail(upload, f"{algorithm} of the whole file was {actual}, expected {value}", "checksum", source)
            return
    try:
        with transaction.atomic():
            _store_completed(upload, source, digest, hashed)
    except (
        Conflict,
        ValidationError,
        exceptions.ValidationError,
        ValueError,
        TypeError,
        OverflowError,
        DataError,
    ) as exc:
        # Metadata the creation check did not see (uploads created before it existed) fails the
        # upload for good instead of leaving it "verifying" for the sweep to retry forever.
        _fail(upload, _message(exc), "rejected", source, stored)
    except OSError as exc:
        if not is_no_space(exc):
            raise  # the upload stays "verifying" with its bytes; the sweep tries again
        _fail(upload, "storage full", "storage full", source, stored)


def _message(exc: Exception) -> str:
    detail = getattr(exc, "detail", None) or getattr(exc, "messages", None) or str(exc)
    return str(detail)[:1000]


def hash_file(path: Path) -> storage.Digest:
    """SHA-256 and MD5 of a file in one read, each hash in a thread of its own (so the two take
    the time of the slower one on two cores)."""
    sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    hashers = [_BackgroundHash(sha, depth=4), _BackgroundHash(md5, depth=4)]
    size = 0
    try:
        with open(path, "rb") as handle:
            os.posix_fadvise(handle.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
            while chunk := handle.read(HASH_READ_SIZE):
                size += len(chunk)
                for hasher in hashers:
                    hasher.update(chunk)
    finally:
        for hasher in hashers:
            hasher.finish()
    return storage.Digest(size, sha.hexdigest(), md5.hexdigest())


def _fail(upload: Upload, error: str, reason: str, *remove: Path) -> None:
    """The upload failed for good: its bytes go (``remove``), the status says why, audited."""
    for path in remove:
        path.unlink(missing_ok=True)
    Upload.objects.filter(id=upload.id).update(state=UploadState.FAILED, error=error[:1000])
    upload.state, upload.error = UploadState.FAILED, error[:1000]
    audit.record(upload.owner, "upload.failed", upload, project_id=upload.project_id, reason=reason)


def _on_conflict(upload: Upload) -> services.OnConflict | None:
    """The upload's explicit choice (replace or keep both); None when it asked to refuse."""
    choice = services.parse_on_conflict(upload.metadata.get("on_conflict"))
    return None if choice == services.OnConflict.REFUSE else choice


def _streamed_digest(upload: Upload) -> str | None:
    """The whole file's SHA-256 as computed while its bytes arrived, when the saved state covers
    every byte and the ``checksum`` given at creation (if any) needs nothing else; None
    otherwise (an ``md5:`` checksum, or a state that was lost), and the file is read."""
    expected = _expected_checksum(upload.metadata.get("checksum", ""))
    if expected is not None and expected[0] != "sha256":
        return None
    sha = hashstate.ResumableSHA256.restore(upload.sha256_state, upload.offset)
    return sha.hexdigest() if sha is not None else None


def _store_completed(upload: Upload, path: Path, digest: storage.Digest, hashed: str) -> None:
    metadata = {k: v for k, v in upload.metadata.items() if k in services.METADATA_FIELD_NAMES and v}
    tags = [t for t in upload.metadata.get("tags", "").split(",") if t.strip()]
    folder = Folder.objects.filter(id=upload.folder_id).first() if upload.folder_id else None
    file = services.store_file(
        project=upload.project,
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
        _enqueue_finalise(upload_id)
    return [str(upload_id) for upload_id in ids]


def terminate_upload(upload_id: uuid.UUID, owner: Any) -> None:
    """tus termination: free the bytes now; the URL answers 410 afterwards."""
    upload = Upload.objects.filter(id=upload_id, owner=owner).first()
    if upload is None:
        raise exceptions.NotFound("No such upload.")
    if upload.state in (UploadState.VERIFYING, UploadState.COMPLETED):
        return  # every byte is in and the file is (being) stored: terminating leaves it alone
    if upload.state == UploadState.TERMINATED:
        raise UploadGone()
    with transaction.atomic():
        Upload.objects.filter(id=upload.id).update(state=UploadState.TERMINATED, lock_token=None, locked_until=None)
        audit.record(owner, "upload.terminate", upload, project_id=upload.project_id, offset=upload.offset)
    part_path(upload).unlink(missing_ok=True)


def upload_status(upload_id: uuid.UUID, owner: Any) -> Upload:
    upload = Upload.objects.select_related("file").filter(id=upload_id, owner=owner).first()
    if upload is None:
        raise exceptions.NotFound("No such upload.")
    if is_expired(upload):
        upload.state = UploadState.EXPIRED
    return upload


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
    if removed["orphans"]:
        audit.record(None, "upload.cleanup_orphans", username="system", files=removed["orphans"])
    return removed
