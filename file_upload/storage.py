"""Where file bytes live, behind one surface whatever the backend.

Two backends, chosen by ``BIOFM_STORAGE``:

- ``local`` (the default): a directory, ``FILES_DIR``, with content-independent keys
  (``ab/cd/<uuid>``), written through a temporary file in the same filesystem and moved into
  place atomically, so a half-written file is never visible under its key.
- ``s3``: a bucket in an S3-compatible object store (AWS S3, Ceph RGW, MinIO, SeaweedFS) under
  the same keys, through django-storages' ``S3Storage`` (its configuration and its boto3 client)
  with path-style addressing: ``BIOFM_S3_ENDPOINT``, ``BIOFM_S3_BUCKET`` (created when missing),
  ``BIOFM_S3_ACCESS_KEY_ID``, ``BIOFM_S3_SECRET_ACCESS_KEY``, ``BIOFM_S3_REGION``. Reads are
  ranged GETs on the object (``open_blob`` is seekable), large writes are multipart uploads, and
  a library that needs a path gets a temporary local copy (``local_copy``) for as long as it
  needs it. See docs/decisions/0015-object-store.md.

Callers never build paths themselves: ``path_for`` is the local backend's and raises under S3.

Public surface: ``new_key``, ``path_for``, ``adopt``, ``put_file``, ``write_stream``,
``open_blob``, ``local_copy``, ``copies_scope``, ``scoped_copy``, ``exists``, ``stat``,
``delete_blob``, ``presigned_url``, ``is_s3``, ``s3_client``, ``s3_bucket``, ``ensure_bucket``,
``reset``, ``Digest``, ``HashingWriter``, ``start_writeback``.
"""

from __future__ import annotations

import contextlib
import contextvars
import ctypes
import ctypes.util
import hashlib
import io
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings

CHUNK_SIZE = 1024 * 1024


@dataclass
class Digest:
    size: int
    sha256: str
    md5: str


class HashingWriter:
    """Writes chunks to a file while computing size, SHA-256 and MD5 in the same pass."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle
        self.size = 0
        self._sha256 = hashlib.sha256()
        self._md5 = hashlib.md5(usedforsecurity=False)

    def write(self, chunk: bytes) -> None:
        self.handle.write(chunk)
        self._sha256.update(chunk)
        self._md5.update(chunk)
        self.size += len(chunk)

    def digest(self) -> Digest:
        return Digest(self.size, self._sha256.hexdigest(), self._md5.hexdigest())


class _HashingReader(io.RawIOBase):
    """A readable stream that hashes (size, SHA-256, MD5) what is read through it, for writers
    that pull (boto3's ``upload_fileobj``)."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.size = 0
        self._sha256 = hashlib.sha256()
        self._md5 = hashlib.md5(usedforsecurity=False)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes, fewer only at the end of the stream (a short read would make
        boto3 send a part smaller than S3's 5 MiB minimum)."""
        want = size if size is not None and size >= 0 else CHUNK_SIZE * 8
        pieces, got = [], 0
        while got < want:
            piece = self.stream.read(want - got)
            if not piece:
                break
            pieces.append(piece)
            got += len(piece)
        data = b"".join(pieces)
        if data:
            self._sha256.update(data)
            self._md5.update(data)
            self.size += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def digest(self) -> Digest:
        return Digest(self.size, self._sha256.hexdigest(), self._md5.hexdigest())


def _sync_file_range() -> object | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        function = libc.sync_file_range
    except (OSError, AttributeError, TypeError):  # not Linux/glibc: no early writeback
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


_SYNC_FILE_RANGE = _sync_file_range()
SYNC_FILE_RANGE_WRITE = 2


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Ask the kernel to start writing a range of ``fd`` to disk now, without waiting for it
    (Linux ``sync_file_range(SYNC_FILE_RANGE_WRITE)``), so that a later ``fdatasync`` finds
    little left to do. A hint only: it promises no durability and failures are ignored."""
    if _SYNC_FILE_RANGE is not None and length > 0:
        _SYNC_FILE_RANGE(fd, offset, length, SYNC_FILE_RANGE_WRITE)  # type: ignore[operator]


def new_key() -> str:
    token = uuid.uuid4().hex
    return f"{token[:2]}/{token[2:4]}/{token}"


def _check_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"storage key escapes the store: {key!r}")
    return key


def is_s3() -> bool:
    return getattr(settings, "BIOFM_STORAGE", "local") == "s3"


# --- the S3 backend: django-storages' S3Storage and its boto3 client -------------------------

_s3_lock = threading.Lock()
_s3_cache: dict[tuple[Any, ...], Any] = {}
_buckets_checked: set[tuple[Any, ...]] = set()


def _s3_options() -> tuple[Any, ...]:
    return (
        settings.BIOFM_S3_ENDPOINT,
        settings.BIOFM_S3_BUCKET,
        settings.BIOFM_S3_ACCESS_KEY_ID,
        settings.BIOFM_S3_SECRET_ACCESS_KEY,
        settings.BIOFM_S3_REGION,
    )


def _s3_storage() -> Any:
    """The django-storages ``S3Storage`` for the current settings (one per process and
    configuration; its boto3 connection is per thread)."""
    options = _s3_options()
    found = _s3_cache.get(options)
    if found is not None:
        return found
    from botocore.config import Config
    from storages.backends.s3 import S3Storage

    endpoint, bucket, access_key, secret_key, region = options
    if not bucket:
        raise RuntimeError("BIOFM_STORAGE=s3 needs BIOFM_S3_BUCKET")
    backend = S3Storage(
        endpoint_url=endpoint or None,
        bucket_name=bucket,
        access_key=access_key or None,
        secret_key=secret_key or None,
        region_name=region or None,
        addressing_style="path",
        signature_version="s3v4",
        file_overwrite=True,
        default_acl=None,
        querystring_auth=True,
        client_config=Config(
            s3={"addressing_style": "path"},
            signature_version="s3v4",
            retries={"max_attempts": 5, "mode": "standard"},
            max_pool_connections=32,
            # boto3 ≥ 1.36 adds CRC checksums to every write; not every S3-compatible store
            # accepts them, and the SHA-256 of every file is ours anyway.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )
    with _s3_lock:
        _s3_cache[options] = backend
    return backend


def reset() -> None:
    """Forget cached S3 clients and bucket checks (settings changed: tests)."""
    with _s3_lock:
        _s3_cache.clear()
        _buckets_checked.clear()


def s3_bucket() -> str:
    return settings.BIOFM_S3_BUCKET


def s3_client() -> Any:
    """The boto3 S3 client of this thread, after making sure the bucket exists."""
    client = _s3_storage().connection.meta.client
    ensure_bucket(client)
    return client


def ensure_bucket(client: Any = None) -> None:
    """Create ``BIOFM_S3_BUCKET`` when it is missing (once per process and configuration)."""
    options = _s3_options()
    if options in _buckets_checked:
        return
    from botocore.exceptions import ClientError

    client = client or _s3_storage().connection.meta.client
    try:
        client.head_bucket(Bucket=s3_bucket())
    except ClientError as exc:
        if str(exc.response.get("Error", {}).get("Code")) not in ("404", "NoSuchBucket", "NotFound"):
            raise
        try:
            client.create_bucket(Bucket=s3_bucket())
        except ClientError as create_exc:
            code = create_exc.response.get("Error", {}).get("Code")
            if code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
    with _s3_lock:
        _buckets_checked.add(options)


def _transfer_config() -> Any:
    from boto3.s3.transfer import TransferConfig

    part = max(settings.BIOFM_S3_PART_BYTES, 5 * 1024 * 1024)
    return TransferConfig(multipart_threshold=part, multipart_chunksize=part, max_concurrency=4)


def _missing(exc: Exception) -> bool:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound")


class S3Blob(io.RawIOBase):
    """A seekable, read-only view of one object: every read is served from a ranged GET that
    starts at the current position (one GET for a sequential read, a new one after a seek)."""

    def __init__(self, key: str, size: int | None = None) -> None:
        self.key = key
        self._client = s3_client()
        self._size = size
        self._pos = 0
        self._end: int | None = None
        self._body: Any = None
        self._body_pos = -1

    def set_read_end(self, end: int) -> None:
        """Reads will stop at ``end`` (exclusive) until the next seek: the GET asks for no more
        (an HTTP Range of a few bytes costs a few bytes, not the rest of the object)."""
        self._end = end
        self._drop_body()

    def _length(self) -> int:
        if self._size is None:
            self._size = int(self._client.head_object(Bucket=s3_bucket(), Key=self.key)["ContentLength"])
        return self._size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            position = offset
        elif whence == io.SEEK_CUR:
            position = self._pos + offset
        else:
            position = self._length() + offset
        if position < 0:
            raise ValueError("negative seek position")
        if position != self._pos:
            self._end = None
        self._pos = position
        return position

    def _drop_body(self) -> None:
        if self._body is not None:
            with contextlib.suppress(Exception):
                self._body.close()
        self._body, self._body_pos = None, -1

    def readinto(self, buffer: Any) -> int:
        end = self._length() if self._end is None else min(self._end, self._length())
        want = min(len(buffer), end - self._pos)
        if want <= 0:
            return 0
        if self._body is None or self._body_pos != self._pos:
            self._drop_body()
            response = self._client.get_object(Bucket=s3_bucket(), Key=self.key, Range=f"bytes={self._pos}-{end - 1}")
            self._body, self._body_pos = response["Body"], self._pos
        data = self._body.read(want)
        if not data:
            self._drop_body()
            return 0
        buffer[: len(data)] = data
        self._pos += len(data)
        self._body_pos = self._pos
        return len(data)

    def close(self) -> None:
        self._drop_body()
        super().close()


# --- the public surface ----------------------------------------------------------------------


def path_for(key: str) -> Path:
    """The local backend's path of ``key``. Under S3 there is no such path: use ``open_blob``
    or ``local_copy``."""
    if is_s3():
        raise RuntimeError("the object store has no local paths; use storage.open_blob or storage.local_copy")
    root = Path(settings.FILES_DIR)
    path = (root / _check_key(key)).resolve()
    if root.resolve() not in path.parents:
        raise ValueError(f"storage key escapes the store: {key!r}")
    return path


def adopt(source_path: str | os.PathLike[str], key: str) -> None:
    """Move a finished temporary file under ``key`` (local: a rename on the same filesystem;
    S3: an upload, multipart when large, then the temporary file goes). A retried move whose
    source is gone finds the bytes already under the key."""
    if is_s3():
        source = Path(source_path)
        if source.exists():
            s3_client().upload_file(str(source), s3_bucket(), _check_key(key), Config=_transfer_config())
            source.unlink(missing_ok=True)
        return
    dest = path_for(key)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if Path(source_path).resolve() != dest:  # a retried move finds the bytes already there
        os.replace(source_path, dest)
    os.chmod(dest, 0o640)


def put_file(source_path: str | os.PathLike[str], key: str) -> None:
    """Copy a local file under ``key``, keeping the source (an index built beside a local copy)."""
    if is_s3():
        s3_client().upload_file(str(source_path), s3_bucket(), _check_key(key), Config=_transfer_config())
        return
    dest = path_for(key)
    if Path(source_path).resolve() == dest:
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, suffix=".part")
    os.close(fd)
    try:
        shutil.copyfile(source_path, tmp_name)
        os.replace(tmp_name, dest)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    os.chmod(dest, 0o640)


def write_stream(stream: BinaryIO, key: str) -> Digest:
    """Copy a readable stream into the store under ``key`` in bounded chunks, hashing it."""
    if is_s3():
        reader = _HashingReader(stream)
        s3_client().upload_fileobj(reader, s3_bucket(), _check_key(key), Config=_transfer_config())
        return reader.digest()
    tmp_dir = Path(settings.UPLOAD_TMP_DIR)
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            writer = HashingWriter(handle)
            while chunk := stream.read(CHUNK_SIZE):
                writer.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        adopt(tmp_name, key)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return writer.digest()


def open_blob(key: str, size: int | None = None) -> BinaryIO:
    """A seekable binary reader of the bytes under ``key`` (FileNotFoundError when none)."""
    if is_s3():
        if size is None:
            size = stat(key)[0]
        return S3Blob(_check_key(key), size)  # type: ignore[return-value]
    return open(path_for(key), "rb")


def exists(key: str) -> bool:
    try:
        stat(key)
    except FileNotFoundError:
        return False
    return True


def stat(key: str) -> tuple[int, float]:
    """``(size, modification time as a POSIX timestamp)`` of ``key``; FileNotFoundError when absent."""
    if is_s3():
        from botocore.exceptions import ClientError

        try:
            head = s3_client().head_object(Bucket=s3_bucket(), Key=_check_key(key))
        except ClientError as exc:
            if _missing(exc):
                raise FileNotFoundError(key) from exc
            raise
        modified = head.get("LastModified")
        return int(head["ContentLength"]), modified.timestamp() if isinstance(modified, datetime) else 0.0
    result = os.stat(path_for(key))
    return result.st_size, result.st_mtime


@contextlib.contextmanager
def local_copy(key: str, suffix: str = "") -> Iterator[Path]:
    """A local path holding the bytes of ``key`` for the duration of the block, for libraries
    that need a path (htslib, h5py, cellxgene). Local backend: the blob itself. S3: a temporary
    copy under ``UPLOAD_TMP_DIR/cache`` (same name plus ``suffix``), removed afterwards with
    anything written beside it (``<copy>.bai``)."""
    if not is_s3():
        path = path_for(key)
        if not path.exists():
            raise FileNotFoundError(key)
        yield path
        return
    cache = Path(settings.UPLOAD_TMP_DIR) / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    directory = Path(tempfile.mkdtemp(dir=cache))
    path = directory / (Path(key).name + suffix)
    try:
        try:
            s3_client().download_file(s3_bucket(), _check_key(key), str(path), Config=_transfer_config())
        except Exception as exc:
            if _missing(exc):
                raise FileNotFoundError(key) from exc
            raise
        yield path
    finally:
        shutil.rmtree(directory, ignore_errors=True)


_scope: contextvars.ContextVar[tuple[contextlib.ExitStack, dict[str, Path]] | None] = contextvars.ContextVar(
    "biofm_storage_copies", default=None
)


@contextlib.contextmanager
def copies_scope() -> Iterator[None]:
    """Local copies taken with ``scoped_copy`` inside the block are removed when it ends (one
    analysis task, whose handlers ask for paths in several places)."""
    with contextlib.ExitStack() as stack:
        token = _scope.set((stack, {}))
        try:
            yield
        finally:
            _scope.reset(token)


def scoped_copy(key: str) -> Path:
    """A local path holding the bytes of ``key`` until the enclosing ``copies_scope`` ends, one
    copy per key (local backend: the blob itself). FileNotFoundError when there are no bytes."""
    if not is_s3():
        path = path_for(key)
        if not path.exists():
            raise FileNotFoundError(key)
        return path
    scope = _scope.get()
    if scope is None:
        raise RuntimeError("storage.scoped_copy needs an enclosing storage.copies_scope()")
    stack, paths = scope
    if key not in paths:
        paths[key] = stack.enter_context(local_copy(key))
    return paths[key]


def delete_blob(key: str) -> None:
    if is_s3():
        s3_client().delete_object(Bucket=s3_bucket(), Key=_check_key(key))
        return
    path_for(key).unlink(missing_ok=True)


def presigned_url(key: str, filename: str, content_type: str, expires_in: int) -> str | None:
    """A time-limited URL of the store itself for ``key`` (S3 with ``BIOFM_S3_PRESIGN_DOWNLOADS``
    on), answering with ``filename`` as an attachment; None when the bytes are to be streamed."""
    if not is_s3() or not settings.BIOFM_S3_PRESIGN_DOWNLOADS:
        return None
    from django.utils.http import content_disposition_header

    parameters = {
        "ResponseContentDisposition": content_disposition_header(True, filename),
        "ResponseContentType": content_type,
    }
    return _s3_storage().url(_check_key(key), parameters=parameters, expire=max(1, expires_in))
