"""One error shape for the whole API: ``{"detail": str, "code": str, "errors"?: {field: [msg]}}``.

``api_exception_handler`` is DRF's exception handler; ``json_404``/``json_500`` replace Django's
HTML error pages for paths under ``/api/`` so no client ever parses an HTML stack trace, and
``ApiExceptionMiddleware`` answers an unexpected exception under ``/api/`` with a JSON 500 even
with ``BIOFM_DEBUG`` on (the traceback goes to the log, never to the client).
"""

from __future__ import annotations

import errno
import logging
import uuid
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import bad_request, page_not_found, permission_denied, server_error
from rest_framework import exceptions, status
from rest_framework.fields import get_error_detail
from rest_framework.response import Response
from rest_framework.views import exception_handler

from .domain import (
    ChecksumMismatch,
    Conflict,
    DomainError,
    Forbidden,
    Gone,
    InsufficientStorage,
    InvalidInput,
    Locked,
    NotFound,
    PayloadTooLarge,
    TooManyAttempts,
)

__all__ = ["Conflict", "DomainError", "HTTP_STATUS", "InsufficientStorage", "PayloadTooLarge", "api_exception_handler"]


class LengthRequired(exceptions.APIException):
    status_code = status.HTTP_411_LENGTH_REQUIRED
    default_detail = "Send the body with a Content-Length (a chunked multipart body cannot be read)."
    default_code = "length_required"


# Logic's errors (``file_project.domain``), importable from here too, and their HTTP statuses:
# the one place a domain error becomes HTTP.
HTTP_STATUS: dict[type[DomainError], int] = {
    InvalidInput: status.HTTP_400_BAD_REQUEST,
    Forbidden: status.HTTP_403_FORBIDDEN,
    NotFound: status.HTTP_404_NOT_FOUND,
    Conflict: status.HTTP_409_CONFLICT,
    Gone: status.HTTP_410_GONE,
    Locked: status.HTTP_423_LOCKED,
    ChecksumMismatch: 460,  # tus's checksum extension
    PayloadTooLarge: status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    InsufficientStorage: 507,
    TooManyAttempts: status.HTTP_429_TOO_MANY_REQUESTS,
}


def as_api_exception(exc: DomainError) -> exceptions.APIException:
    """The DRF exception that answers ``exc``: its status from ``HTTP_STATUS``, detail and code;
    ``InvalidInput`` as DRF's ``ValidationError`` of its field, so its body lists ``errors`` as a
    serializer's would, and ``TooManyAttempts`` as DRF's ``Throttled`` (``Retry-After``)."""
    if isinstance(exc, InvalidInput):
        return exceptions.ValidationError({exc.field: [exc.detail]} if exc.field else [exc.detail], exc.code)
    if isinstance(exc, TooManyAttempts):  # DRF's Throttled adds the wait to the detail and Retry-After
        return exceptions.Throttled(exc.wait, exc.detail, exc.code)
    status_code = next((code for kind, code in HTTP_STATUS.items() if isinstance(exc, kind)), 400)
    error = exceptions.APIException(exc.detail, exc.code)
    error.status_code = status_code
    return error


NO_SPACE_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


SQLITE_FULL, SQLITE_IOERR = 13, 10
POSTGRES_DISK_FULL = "53100"


# What S3-compatible stores answer a write they have no room for: MinIO's full drives and hard
# bucket quota, Ceph RGW's quota, a generic 507.
STORE_FULL_CODES = frozenset(
    {"XMinioStorageFull", "XMinioAdminBucketQuotaExceeded", "QuotaExceeded", "StorageFull", "InsufficientStorage"}
)


def store_refused_for_room(exc: BaseException) -> bool:
    """An object store's answer (botocore's ``ClientError``) that it has no room for a write."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return False
    code = str((response.get("Error") or {}).get("Code", ""))
    status_code = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    return code in STORE_FULL_CODES or status_code == 507


def is_no_space(exc: BaseException) -> bool:
    """A write that failed because the storage is full: ``ENOSPC``/``EDQUOT`` from a file,
    SQLite's "database or disk is full" (or its I/O error while its volume has no free byte),
    PostgreSQL's ``disk_full``, an object store refusing a write for lack of room
    (``store_refused_for_room``)."""
    if isinstance(exc, OSError):
        return exc.errno in NO_SPACE_ERRNOS
    if store_refused_for_room(exc):
        return True
    if not isinstance(exc, DatabaseError):
        return False
    cause = exc.__cause__
    if getattr(cause, "sqlstate", None) == POSTGRES_DISK_FULL:
        return True
    code = getattr(cause, "sqlite_errorcode", None)
    if code is None:
        return False
    from .full_volume import sqlite_volume_full

    return code & 0xFF == SQLITE_FULL or (code & 0xFF == SQLITE_IOERR and sqlite_volume_full())


def _first_code(codes: Any) -> str:
    if isinstance(codes, str):
        return codes
    if isinstance(codes, list) and codes:
        return _first_code(codes[0])
    if isinstance(codes, dict) and codes:
        return _first_code(next(iter(codes.values())))
    return "error"


def _flatten_messages(detail: Any) -> dict[str, list[str]]:
    """Turn DRF's nested ``ValidationError.detail`` into ``{field: [message, ...]}``."""
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for field, value in detail.items():
            if isinstance(value, dict) and all(isinstance(key, int) for key in value):
                # A list field's per-item errors belong to the field itself.
                out[field] = [msg for messages in _flatten_messages(value).values() for msg in messages]
            elif isinstance(value, dict):
                for sub, messages in _flatten_messages(value).items():
                    out[f"{field}.{sub}"] = messages
            elif isinstance(value, list):
                out[field] = [str(item) for item in value]
            else:
                out[field] = [str(value)]
        return out
    if isinstance(detail, list):
        return {"non_field_errors": [str(item) for item in detail]}
    return {"non_field_errors": [str(detail)]}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        # Services validate with Django's ValidationError; the API answers it as a 400.
        exc = exceptions.ValidationError(get_error_detail(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif is_no_space(exc):  # a full disk is the server's condition, not a crash: 507, not 500
        exc = as_api_exception(InsufficientStorage())
    elif isinstance(exc, DomainError):
        exc = as_api_exception(exc)
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten_messages(exc.detail)
        fields = [name for name in errors if name != "non_field_errors"]
        if fields:
            summary = "; ".join(f"{name}: {errors[name][0]}" for name in fields)
        else:
            summary = errors["non_field_errors"][0]
        response.data = {"detail": summary, "code": _first_code(exc.get_codes()), "errors": errors}
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        code = _first_code(exc.get_codes())
        response.data = {"detail": str(detail), "code": code}
    return response


def json_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return page_not_found(request, exception)  # type: ignore[arg-type]


def json_400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Bad request.", "code": "bad_request"}, status=400)
    return bad_request(request, exception)  # type: ignore[arg-type]


def json_403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Permission denied.", "code": "permission_denied"}, status=403)
    return permission_denied(request, exception)  # type: ignore[arg-type]


def json_500(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Internal server error.", "code": "server_error"}, status=500)
    return server_error(request)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": f"CSRF check failed: {reason} Reload the page and try again.", "code": "csrf_failed"}, status=403
        )
    from django.views.csrf import csrf_failure as default_csrf_failure

    return default_csrf_failure(request, reason)


log = logging.getLogger("biofm.errors")


class ApiExceptionMiddleware:
    """Unexpected exceptions under ``/api/`` become ``{"detail", "code": "server_error", "ref"}``
    with status 500; the traceback is logged with the same ``ref`` for the operator."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not request.path.startswith("/api/"):
            return None
        if isinstance(exception, Http404 | DjangoPermissionDenied | SuspiciousOperation):
            return None  # Django turns these into 404/403/400, which our handlers render as JSON
        if is_no_space(exception):
            log.warning("storage full on %s %s: %s", request.method, request.path, exception)
            error = InsufficientStorage()
            return JsonResponse({"detail": error.detail, "code": error.code}, status=HTTP_STATUS[InsufficientStorage])
        ref = uuid.uuid4().hex[:12]
        log.error("unhandled error %s on %s %s", ref, request.method, request.path, exc_info=exception)
        return JsonResponse({"detail": "Internal server error.", "code": "server_error", "ref": ref}, status=500)
