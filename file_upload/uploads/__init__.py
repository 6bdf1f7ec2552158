"""Resumable uploads (tus): the Logic behind ``/api/uploads/``, split by noun.

An ``Upload`` row holds the state (offset, length, target, expiry, lease) and a part file under
``UPLOAD_TMP_DIR/tus/<id>.part`` (``rows``) holds the bytes, so any worker on any node can take
the next PATCH and a restart loses nothing. A PATCH takes a short lease on the row (``leases``,
on ``file_project.leases``) instead of a database lock, streams the body to the part file in
bounded chunks while a helper thread computes the SHA-256 (``hashing``; ``hashstate`` saves it
with the offset, so the next PATCH goes on hashing on any worker), verifies an optional
per-chunk checksum (``headers``), makes the bytes durable, and only then advances the offset —
during a long body every ``BIOFM_UPLOAD_CHECKPOINT_BYTES`` too (``receive``). When the last byte
is in and durable, the same PATCH checks the optional ``checksum`` given at creation against
that SHA-256 and stores the file through ``services.store_file`` like every other front door
(``finalise``); only when the hash state was lost (or the ``checksum`` is an MD5) does the upload
turn ``verifying`` for the Celery task ``finalise_upload``, and ``requeue_stale_finalisations``
re-queues a finalisation whose worker died. ``quota`` says what an upload may take; ``cleanup``
frees the bytes of terminated, expired and failed uploads. Errors are ``file_project.domain``
kinds (``errors``), mapped to HTTP by ``file_project.errors``.

This package re-exports the names the rest of the app uses, so callers import ``uploads``.

Public surface: ``create_upload``, ``append_chunk``, ``finalise_upload``, ``terminate_upload``,
``upload_status``, ``cleanup_uploads``, ``requeue_stale_finalisations``, ``check_quota``,
``part_path``, ``part_dir``, ``is_expired``, ``parse_metadata``, ``hash_file``, ``hash_stream``,
``ChunkChecksum``, ``CHECKSUM_ALGORITHMS``, and the errors ``UploadGone``, ``OffsetMismatch``,
``UploadLocked``, ``ChecksumMismatch``. The underscored aliases are the names
``file_upload.concat`` builds a final upload from.
"""

from __future__ import annotations

from .cleanup import cleanup_uploads, terminate_upload
from .errors import ChecksumMismatch, OffsetMismatch, UploadGone, UploadLocked
from .finalise import checksum_mismatch as _checksum_mismatch
from .finalise import fail as _fail
from .finalise import failure_message as _message
from .finalise import finalise_upload, requeue_stale_finalisations
from .finalise import store_completed as _store_completed
from .hashing import hash_file, hash_stream
from .headers import CHECKSUM_ALGORITHMS, ChunkChecksum, parse_metadata
from .headers import expected_checksum as _expected_checksum
from .leases import release as _release
from .leases import try_lease as _try_lease
from .quota import check_project_quota as _check_project_quota
from .quota import check_quota
from .receive import append_chunk, create_upload
from .rows import extend_expiry as _extend_expiry
from .rows import is_expired, part_dir, part_path, upload_status

__all__ = [
    "CHECKSUM_ALGORITHMS",
    "ChecksumMismatch",
    "ChunkChecksum",
    "OffsetMismatch",
    "UploadGone",
    "UploadLocked",
    "_check_project_quota",
    "_checksum_mismatch",
    "_expected_checksum",
    "_extend_expiry",
    "_fail",
    "_message",
    "_release",
    "_store_completed",
    "_try_lease",
    "append_chunk",
    "check_quota",
    "cleanup_uploads",
    "create_upload",
    "finalise_upload",
    "hash_file",
    "hash_stream",
    "is_expired",
    "parse_metadata",
    "part_dir",
    "part_path",
    "requeue_stale_finalisations",
    "terminate_upload",
    "upload_status",
]
