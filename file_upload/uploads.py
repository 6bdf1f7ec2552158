"""Resumable uploads (tus): the services behind ``/api/uploads/``.

An ``Upload`` row holds the state (offset, length, target, expiry, lease) and a part file under
``UPLOAD_TMP_DIR/tus/<id>.part`` holds the bytes, so any worker on any node can take the next
PATCH and a restart loses nothing. A PATCH takes a short lease on the row instead of a database
lock (a PATCH may stream for minutes), streams the body to the part file in bounded chunks,
verifies an optional per-chunk checksum, makes the bytes durable, and only then advances the
offset. When the last byte arrives, the whole file's SHA-256/MD5 are checked against an optional
``checksum`` given at creation and the file goes through ``services.store_file`` like every
other front door.

Public surface: ``create_upload``, ``append_chunk``, ``terminate_upload``, ``upload_status``,
``cleanup_uploads``, ``check_quota``, ``part_path``, ``parse_metadata``, ``ChunkChecksum``,
and the errors ``UploadGone``, ``OffsetMismatch``, ``UploadLocked``, ``ChecksumMismatch``.
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
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from rest_framework import exceptions, status

from authentication import audit
from file_project.errors import Conflict, InsufficientStorage, PayloadTooLarge, is_no_space

from . import services, storage
from .models import File, Folder, Project, Upload, UploadMethod, UploadState
from .privacy import require_consent
from .validators import normalise_name, validate_object_name

log = logging.getLogger(__name__)

READ_SIZE = 1024 * 1024
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
        Upload.objects.filter(owner=user, state=UploadState.ACTIVE, length__isnull=False).aggregate(
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
        Upload.objects.filter(project=project, state=UploadState.ACTIVE, length__isnull=False).aggregate(
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
    if File.objects.alive().filter(project=project, folder=folder, name=filename).exists():
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
        _complete(upload)
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


def _acquire(upload_id: uuid.UUID, owner: Any) -> _Lease:
    """Take the upload's lease or answer 423; unknown or someone else's upload → 404."""
    upload = Upload.objects.filter(id=upload_id, owner=owner).first()
    if upload is None:
        raise exceptions.NotFound("No such upload.")
    if upload.state in (UploadState.TERMINATED, UploadState.EXPIRED, UploadState.FAILED) or is_expired(upload):
        raise UploadGone()
    token = uuid.uuid4()
    now = timezone.now()
    taken = (
        Upload.objects.filter(id=upload_id)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(lock_token=token, locked_until=now + timedelta(seconds=lease_seconds()))
    )
    if not taken:
        raise UploadLocked()
    upload.refresh_from_db()
    return _Lease(upload, token)


def _release(lease: _Lease) -> None:
    lease.stop()
    Upload.objects.filter(id=lease.upload.id, lock_token=lease.token).update(lock_token=None, locked_until=None)


# Running whole-file SHA-256 of uploads this process has seen every byte of, so completion needs
# no second read of the file. Only a cache: another worker's PATCH, or a restart, drops the
# entry and completion hashes the part file from disk instead.
_HASHERS: OrderedDict[uuid.UUID, tuple[int, Any]] = OrderedDict()
_HASHERS_LOCK = threading.Lock()
_HASHERS_MAX = 64


def _hasher_for(upload: Upload) -> Any | None:
    with _HASHERS_LOCK:
        entry = _HASHERS.pop(upload.id, None)
    if entry is None:
        return hashlib.sha256() if upload.offset == 0 else None
    offset, sha = entry
    return sha if offset == upload.offset else None


def _keep_hasher(upload: Upload, sha: Any | None) -> None:
    if sha is None:
        return
    with _HASHERS_LOCK:
        _HASHERS[upload.id] = (upload.offset, sha)
        while len(_HASHERS) > _HASHERS_MAX:
            _HASHERS.popitem(last=False)


class _BackgroundHash:
    """Feeds hash objects from a helper thread so hashing overlaps the socket reads and disk
    writes (hashlib releases the GIL on large buffers). A bounded queue keeps memory flat."""

    def __init__(self, *hashers: Any) -> None:
        self.hashers = [h for h in hashers if h is not None]
        self.queue: queue.Queue[bytes | None] = queue.Queue(maxsize=8)
        self.thread = threading.Thread(target=self._run, daemon=True) if self.hashers else None
        if self.thread:
            self.thread.start()

    def _run(self) -> None:
        while (data := self.queue.get()) is not None:
            for hasher in self.hashers:
                hasher.update(data)

    def update(self, data: bytes) -> None:
        if self.thread:
            self.queue.put(data)

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
    """Write one PATCH body at ``offset``. Returns the upload with its new offset (and its
    ``file`` once complete). Nothing changes on a mismatching offset, a bad checksum or a body
    that would run past the declared length."""
    lease = _acquire(upload_id, owner)
    upload = lease.upload
    try:
        if upload.state == UploadState.COMPLETED:
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
        written, hashers = _stream_into_part(lease, body, content_length, limit, checksum)
        upload.offset += written
        _extend_expiry(upload)
        Upload.objects.filter(id=upload.id).update(
            offset=upload.offset, length=upload.length, expires_at=upload.expires_at
        )
        _keep_hasher(upload, hashers)
        if upload.length is not None and upload.offset >= upload.length:
            _complete(upload)
        return upload
    finally:
        _release(lease)


def _stream_into_part(
    lease: _Lease, body: BinaryIO, content_length: int | None, limit: int | None, checksum: ChunkChecksum | None
) -> tuple[int, Any | None]:
    """Copy the body after the current offset; returns bytes kept and the running SHA-256.

    On a checksum mismatch the part file is cut back and nothing is kept. On a broken body
    (client gone) the bytes that did arrive are kept, as the tus spec asks."""
    upload = lease.upload
    path = part_path(upload)
    sha = _hasher_for(upload)
    chunk_hash = CHECKSUM_ALGORITHMS[checksum.algorithm]() if checksum else None
    if sha is not None and chunk_hash is not None:
        sha = sha.copy()  # the cached state must survive a rejected chunk
    hashing = _BackgroundHash(sha, chunk_hash)
    written = 0
    to_read = content_length
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o640)
    try:
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
        finally:
            hashing.finish()
        if checksum is not None and (to_read or chunk_hash.digest() != checksum.digest):  # type: ignore[union-attr]
            # A checksummed chunk is kept whole and intact, or not at all.
            os.ftruncate(fd, upload.offset)
            if to_read:
                return 0, None
            raise ChecksumMismatch()
        if settings.BIOFM_UPLOAD_FSYNC == "chunk":
            os.fdatasync(fd)
    except PayloadTooLarge:
        os.ftruncate(fd, upload.offset)
        raise
    except OSError as exc:
        if not is_no_space(exc):
            raise
        # Disk full: drop this chunk's bytes (the fragment), keep what was acknowledged so the
        # upload can resume once there is room, and say so.
        os.ftruncate(fd, upload.offset)
        log.warning("upload %s: storage full at offset %d", upload.id, upload.offset)
        raise InsufficientStorage(
            f"The server's storage is full: this chunk was not stored. The upload keeps the {upload.offset} bytes "
            "received before it; resume later, or cancel it (DELETE) to free them."
        ) from exc
    finally:
        os.close(fd)
    # After a short body (client gone) the running hash still covers exactly the bytes kept.
    return written, sha


def _file_digest(path: Path, sha: Any | None, length: int, with_md5: bool) -> storage.Digest:
    """SHA-256 from the running hash when this process saw every byte, else from the disk.

    MD5 is computed here only when the client asked for an MD5 check; otherwise a background
    task fills it in (``fill_checksums``), keeping it off the upload's critical path."""
    md5 = hashlib.md5(usedforsecurity=False) if with_md5 else None
    if sha is None or md5 is not None:
        rehash = sha is None
        sha = hashlib.sha256() if rehash else sha
        with open(path, "rb") as handle:
            while chunk := handle.read(8 * READ_SIZE):
                if rehash:
                    sha.update(chunk)
                if md5 is not None:
                    md5.update(chunk)
    return storage.Digest(length, sha.hexdigest(), md5.hexdigest() if md5 is not None else "")


def _fdatasync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fdatasync(fd)
    finally:
        os.close(fd)


def _free_name(project: Project, folder: Folder | None, name: str) -> str:
    """``name``, or ``stem (2).ext`` … when a file of that name arrived while this one uploaded."""
    taken = set(File.objects.alive().filter(project=project, folder=folder).values_list("name", flat=True))
    if name not in taken:
        return name
    stem, dot, ext = name.partition(".")
    for n in range(2, 10_000):
        candidate = f"{stem} ({n}){dot}{ext}"
        if candidate not in taken:
            return candidate
    raise Conflict(f"A file named “{name}” already exists in this folder.", code="name_conflict")


def _complete(upload: Upload) -> None:
    """All bytes are here: verify, store through the one store service, queue parsing."""
    path = part_path(upload)
    with _HASHERS_LOCK:
        entry = _HASHERS.pop(upload.id, None)
    sha = entry[1] if entry and entry[0] == upload.offset else None
    expected = _expected_checksum(upload.metadata.get("checksum", ""))
    digest = _file_digest(path, sha, upload.offset, with_md5=bool(expected and expected[0] == "md5"))
    try:
        if settings.BIOFM_UPLOAD_FSYNC != "off":
            _fdatasync(path)
    except OSError as exc:
        _fail_no_space(upload, path, exc)
    if expected is not None:
        algorithm, value = expected
        actual = digest.sha256 if algorithm == "sha256" else digest.md5
        if actual != value:
            path.unlink(missing_ok=True)
            Upload.objects.filter(id=upload.id).update(
                state=UploadState.FAILED, error=f"{algorithm} of the whole file was {actual}, expected {value}"
            )
            audit.record(upload.owner, "upload.failed", upload, project_id=upload.project_id, reason="checksum")
            raise ChecksumMismatch(
                f"The whole file's {algorithm} ({actual}) does not match the checksum given at creation; "
                "the upload was discarded."
            )
    try:
        _store_completed(upload, path, digest)
    except Exception as exc:
        if is_no_space(exc):
            _fail_no_space(upload, path, exc)
        Upload.objects.filter(id=upload.id).update(state=UploadState.FAILED, error=str(exc)[:1000])
        raise


def _fail_no_space(upload: Upload, path: Path, exc: OSError) -> None:
    """The disk filled up while the complete file was being stored: the upload fails and its
    bytes go, so a full disk is not kept full by a file that can never be stored (507)."""
    if not is_no_space(exc):
        raise exc
    path.unlink(missing_ok=True)
    Upload.objects.filter(id=upload.id).update(state=UploadState.FAILED, error="storage full")
    audit.record(upload.owner, "upload.failed", upload, project_id=upload.project_id, reason="storage full")
    raise InsufficientStorage(
        "The server's storage filled up while the file was being stored; the upload was discarded. "
        "Upload it again once there is room."
    ) from exc


def _store_completed(upload: Upload, path: Path, digest: storage.Digest) -> None:
    metadata = {k: v for k, v in upload.metadata.items() if k in services.METADATA_FIELD_NAMES and v}
    tags = [t for t in upload.metadata.get("tags", "").split(",") if t.strip()]
    folder = Folder.objects.filter(id=upload.folder_id).first() if upload.folder_id else None
    file = services.store_file(
        project=upload.project,
        folder=folder,
        name=_free_name(upload.project, folder, upload.filename),
        owner=upload.owner,
        temp_path=path,
        digest=digest,
        upload_method=UploadMethod.TUS,
        metadata=metadata,
        tags=tags,
        description=upload.metadata.get("description", ""),
        content_type=upload.metadata.get("filetype", "") or upload.metadata.get("type", ""),
    )
    upload.state, upload.file = UploadState.COMPLETED, file
    Upload.objects.filter(id=upload.id).update(state=UploadState.COMPLETED, file=file)
    audit.record(
        upload.owner, "upload.complete", upload, project_id=upload.project_id, file=file.id, sha256=file.sha256
    )


def terminate_upload(upload_id: uuid.UUID, owner: Any) -> None:
    """tus termination: free the bytes now; the URL answers 410 afterwards."""
    upload = Upload.objects.filter(id=upload_id, owner=owner).first()
    if upload is None:
        raise exceptions.NotFound("No such upload.")
    if upload.state == UploadState.COMPLETED:
        return  # the file is stored; terminating the finished upload leaves it alone
    if upload.state == UploadState.TERMINATED:
        raise UploadGone()
    with transaction.atomic():
        Upload.objects.filter(id=upload.id).update(state=UploadState.TERMINATED, lock_token=None, locked_until=None)
        audit.record(owner, "upload.terminate", upload, project_id=upload.project_id, offset=upload.offset)
    part_path(upload).unlink(missing_ok=True)


def upload_status(upload_id: uuid.UUID, owner: Any) -> Upload:
    upload = Upload.objects.filter(id=upload_id, owner=owner).first()
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
