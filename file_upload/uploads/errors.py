"""The errors an upload's Logic raises, with the messages tus clients see; each is a kind from
``file_project.domain`` (``Gone`` 410, ``Conflict`` 409, ``Locked`` 423, ``ChecksumMismatch``
460), so ``file_project.errors.HTTP_STATUS`` gives its status.

Public surface: ``UploadGone``, ``OffsetMismatch``, ``UploadLocked``, ``ChecksumMismatch``.
"""

from __future__ import annotations

from file_project.domain import ChecksumMismatch, Conflict, Gone, Locked

__all__ = ["ChecksumMismatch", "OffsetMismatch", "UploadGone", "UploadLocked"]


class UploadGone(Gone):
    default_detail = "This upload expired or was cancelled; start it again."
    default_code = "upload_gone"


class OffsetMismatch(Conflict):
    default_detail = "Upload-Offset does not match the upload's current offset."
    default_code = "offset_mismatch"


class UploadLocked(Locked):
    default_detail = "Another request is writing to this upload; retry shortly."
    default_code = "locked"
