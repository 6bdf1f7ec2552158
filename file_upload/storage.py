"""Where file bytes live. Local disk under ``FILES_DIR`` with content-independent keys
(``ab/cd/<uuid>``), written through a temporary file in the same filesystem and moved into place
atomically, so a half-written file is never visible under its key.

Public surface: ``new_key``, ``path_for``, ``adopt``, ``write_stream``, ``open_blob``,
``delete_blob``, ``HashingWriter``, ``start_writeback``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

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


def path_for(key: str) -> Path:
    root = Path(settings.FILES_DIR)
    path = (root / key).resolve()
    if root.resolve() not in path.parents:
        raise ValueError(f"storage key escapes the store: {key!r}")
    return path


def adopt(source_path: str | os.PathLike[str], key: str) -> Path:
    """Move a finished temporary file (same filesystem) under ``key``."""
    dest = path_for(key)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if Path(source_path).resolve() != dest:  # a retried move finds the bytes already there
        os.replace(source_path, dest)
    os.chmod(dest, 0o640)
    return dest


def write_stream(stream: BinaryIO, key: str) -> Digest:
    """Copy a readable stream into the store under ``key`` in bounded chunks."""
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


def open_blob(key: str) -> BinaryIO:
    return open(path_for(key), "rb")


def delete_blob(key: str) -> None:
    path_for(key).unlink(missing_ok=True)
