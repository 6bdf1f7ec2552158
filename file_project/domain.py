"""The errors Logic raises: a message for the user and a machine-readable code, no HTTP.

Services, uploads, retention and the bridges raise these; ``file_project.errors`` maps each to
its HTTP status in one table (``HTTP_STATUS``, used by the API's exception handler), and the
WebDAV provider maps them to WebDAV statuses. Django's ``ValidationError`` (bad input, 400) and
``PermissionDenied`` (403) are the other two errors Logic may raise.

Public surface: ``DomainError``, ``InvalidInput``, ``NotFound``, ``Conflict``, ``Gone``, ``Locked``,
``ChecksumMismatch``, ``PayloadTooLarge``, ``InsufficientStorage``.
"""

from __future__ import annotations


class DomainError(Exception):
    default_detail = "The request cannot be carried out."
    default_code = "error"

    def __init__(self, detail: str | None = None, code: str | None = None) -> None:
        self.detail = str(detail if detail is not None else self.default_detail)
        self.code = code or self.default_code
        super().__init__(self.detail)

    def __str__(self) -> str:
        return self.detail


class InvalidInput(DomainError):
    """A value the client sent cannot be read (a malformed header, a bad metadata value);
    ``field`` names it (a header's or a field's name), as a form's field error would."""

    default_detail = "Invalid input."
    default_code = "invalid"

    def __init__(self, detail: str | None = None, code: str | None = None, *, field: str | None = None) -> None:
        super().__init__(detail, code)
        self.field = field


class Conflict(DomainError):
    """The request conflicts with the current state (a name taken, a file not in the trash)."""

    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"


class NotFound(DomainError):
    """What was asked for does not exist, or is not the caller's to see."""

    default_detail = "Not found."
    default_code = "not_found"


class Gone(DomainError):
    """It existed and is gone for good (an expired or cancelled upload)."""

    default_detail = "This resource is gone."
    default_code = "gone"


class Locked(DomainError):
    """Another request holds it; retrying shortly will do."""

    default_detail = "Another request is working on this resource; retry shortly."
    default_code = "locked"


class ChecksumMismatch(DomainError):
    """The bytes sent do not match the checksum sent with them; nothing was kept."""

    default_detail = "The checksum of the data does not match Upload-Checksum; the chunk was discarded."
    default_code = "checksum_mismatch"


class PayloadTooLarge(DomainError):
    default_detail = "The upload is larger than this server accepts."
    default_code = "too_large"


class InsufficientStorage(DomainError):
    default_detail = "The server's storage is full; nothing was stored. Try again later or ask an admin to free space."
    default_code = "insufficient_storage"
