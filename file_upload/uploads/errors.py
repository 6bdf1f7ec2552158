"""The errors an upload's Logic raises, with the messages tus clients see; each is a kind from
``file_project.domain`` (``Gone`` 410, ``Conflict`` 409, ``Locked`` 423, ``ChecksumMismatch``
460), so ``file_project.errors.HTTP_STATUS`` gives its status.

Public surface: ``UploadGone``, ``OffsetMismatch``, ``UploadLocked``, ``ChecksumMismatch``.
"""

from __future__ import annotations

from file_project.domain import ChecksumMismatch, Conflict, Gone, Locked

__all__ = ["ChecksumMismatch", "OffsetMismatch", "UploadGone", "UploadLocked"]


class UploadGone(Gone, code="upload_gone", detail="This upload expired or was cancelled; start it again."):
    """The upload expired, was cancelled or failed: a client starts it again."""


OFFSET_MISMATCH = "Upload-Offset does not match the upload's current offset."


class OffsetMismatch(Conflict, code="offset_mismatch", detail=OFFSET_MISMATCH):
    """A PATCH that does not start where the upload stands (a client that lost count)."""


class UploadLocked(Locked, code="locked", detail="Another request is writing to this upload; retry shortly."):
    """Another PATCH or the finalisation holds the upload's lease."""
