"""Hashing beside the reads and writes: ``BackgroundHash`` feeds hash objects from a helper
thread; ``hash_file``/``hash_stream`` take SHA-256 and MD5 of a whole file in one read.

Public surface: ``BackgroundHash``, ``hash_file``, ``hash_stream``, ``HASH_READ_SIZE``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import threading
from pathlib import Path
from typing import Any, BinaryIO

from .. import storage, threads

log = logging.getLogger(__name__)


HASH_READ_SIZE = 4 * 1024 * 1024


class BackgroundHash:
    """Feeds hash objects from a helper thread so hashing overlaps the reads and writes
    (hashlib and ``hashstate`` release the GIL while they hash). A bounded queue keeps memory
    flat. ``wait()`` returns once everything queued so far is hashed."""

    def __init__(self, *hashers: Any, depth: int = 8) -> None:
        self.hashers = [h for h in hashers if h is not None]
        self.queue: queue.Queue[bytes | threading.Event | None] = queue.Queue(maxsize=depth)
        self.thread = threads.run(self._run, name="upload-hash") if self.hashers else None

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
        """Hash what is queued and end the helper thread; a second call does nothing."""
        if self.thread:
            self.queue.put(None)
            self.thread.wait()
            self.thread = None


def hash_file(path: Path) -> storage.Digest:
    """SHA-256 and MD5 of a file in one read, each hash in a thread of its own (so the two take
    the time of the slower one on two cores)."""
    with open(path, "rb") as handle:
        os.posix_fadvise(handle.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
        return hash_stream(handle)


def hash_stream(handle: BinaryIO) -> storage.Digest:
    """SHA-256 and MD5 of what a stream holds from where it is (``hash_file``; a stored blob
    through ``storage.open_blob``)."""
    sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    hashers = [BackgroundHash(sha, depth=4), BackgroundHash(md5, depth=4)]
    size = 0
    try:
        while chunk := handle.read(HASH_READ_SIZE):
            size += len(chunk)
            for hasher in hashers:
                hasher.update(chunk)
    finally:
        for hasher in hashers:
            hasher.finish()
    return storage.Digest(size, sha.hexdigest(), md5.hexdigest())
