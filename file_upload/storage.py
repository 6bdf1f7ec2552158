"""Where file bytes live. Local disk under ``FILES_DIR`` with content-independent keys
(``ab/cd/<uuid>``), written through a temporary file in the same filesystem and moved into place
atomically, so a half-written file is never visible under its key.

Public surface: ``new_key``, ``path_for``, ``adopt``, ``write_stream``, ``open_blob``,
``delete_blob``, ``HashingWriter``.
"""

from __future__ import annotations

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
