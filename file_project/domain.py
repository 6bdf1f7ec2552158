"""The errors Logic raises: a message for the user and a machine-readable code, no HTTP.

Services, uploads, retention and the bridges raise these; ``file_project.errors`` maps each to
its HTTP status in one table (``HTTP_STATUS``, used by the API's exception handler), and the
WebDAV provider maps them to WebDAV statuses. Django's ``ValidationError`` (bad input, 400) and
``PermissionDenied`` (403) are the other two errors Logic may raise.

Public surface: ``DomainError``, ``InvalidInput``, ``Forbidden``, ``TooManyAttempts``, ``NotFound``,
``Conflict``, ``Gone``, ``Locked``, ``ChecksumMismatch``, ``PayloadTooLarge``, ``InsufficientStorage``.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A message for the user (``detail``) and a code for programs. Each kind names its defaults
    in its class line: ``class Gone(DomainError, code="gone", detail="This resource is gone.")``."""

    default_detail = "The request cannot be carried out."
    default_code = "error"

    def __init_subclass__(cls, *, code: str = "", detail: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.default_code = code or cls.default_code
        cls.default_detail = detail or cls.default_detail

    def __init__(self, detail: str | None = None, code: str | None = None) -> None:
        self.detail = str(detail if detail is not None else self.default_detail)
        self.code = code or self.default_code
        super().__init__(self.detail)

    def __str__(self) -> str:
        return self.detail


class InvalidInput(DomainError, code="invalid", detail="Invalid input."):
    """A value the client sent cannot be read (a malformed header, a bad metadata value);
    ``field`` names it (a header's or a field's name), as a form's field error would."""

    def __init__(self, detail: str | None = None, code: str | None = None, *, field: str | None = None) -> None:
        super().__init__(detail, code)
        self.field = field


class Forbidden(DomainError, code="permission_denied", detail="You do not have permission to perform this action."):
    """The caller may not do this, whoever they are (a download link that is not valid)."""


class TooManyAttempts(DomainError, code="throttled", detail="Request was throttled."):
    """Too many tries in a short time; ``wait``: the seconds until another may succeed."""

    def __init__(self, detail: str | None = None, code: str | None = None, *, wait: int | None = None) -> None:
        super().__init__(detail, code)
        self.wait = wait


class Conflict(DomainError, code="conflict", detail="The request conflicts with the current state of the resource."):
    """The request conflicts with the current state (a name taken, a file not in the trash)."""


class NotFound(DomainError, code="not_found", detail="Not found."):
    """What was asked for does not exist, or is not the caller's to see."""


class Gone(DomainError, code="gone", detail="This resource is gone."):
    """It existed and is gone for good (an expired or cancelled upload)."""


class Locked(DomainError, code="locked", detail="Another request is working on this resource; retry shortly."):
    """Another request holds it; retrying shortly will do."""


CHECKSUM_MISMATCH = "The checksum of the data does not match Upload-Checksum; the chunk was discarded."


class ChecksumMismatch(DomainError, code="checksum_mismatch", detail=CHECKSUM_MISMATCH):
    """The bytes sent do not match the checksum sent with them; nothing was kept."""


class PayloadTooLarge(DomainError, code="too_large", detail="The upload is larger than this server accepts."):
    """More bytes than this server, the user's or the project's quota accepts."""


NO_SPACE = "The server's storage is full; nothing was stored. Try again later or ask an admin to free space."


class InsufficientStorage(DomainError, code="insufficient_storage", detail=NO_SPACE):
    """The server's storage (disk or database volume) is full."""
