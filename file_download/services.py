"""Serving stored bytes: HTTP Range (single, suffix, open, multiple), conditional requests,
RFC 6266 names, sendfile under gunicorn, X-Accel-Redirect behind nginx, and signed URLs.

Public surface: ``serve_file``, ``parse_range``, ``sign_download``, ``unsign_download``,
``SignedUrlInvalid``, ``index_key``, ``requested_index``, ``serve_index``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

from django.conf import settings
from django.core import signing
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.utils.http import content_disposition_header, http_date, parse_http_date_safe, quote_etag
from rest_framework import exceptions

from authentication import audit
from file_project import metrics
from file_project.parsers import INT_MAX
from file_upload import storage
from file_upload.models import File

MAX_RANGES = 64
SIGNING_SALT = "biofm.download"


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1


class Unsatisfiable(Exception):
    pass


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def parse_range(header: str, size: int) -> list[ByteRange] | None:
    """Ranges of a ``Range`` header for a body of ``size`` bytes (RFC 9110 §14).

    None means "ignore the header and send everything" (malformed, another unit, too many
    ranges); ``Unsatisfiable`` means 416. Overlapping or adjacent ranges are merged."""
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or not spec.strip():
        return None
    ranges: list[ByteRange] = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        first, dash, last = part.partition("-")
        first, last = first.strip(), last.strip()
        # ASCII digits only: str.isdigit() also accepts "²" and friends, which int() refuses.
        if not dash or (first and not _digits(first)) or (last and not _digits(last)) or not (first or last):
            return None
        if not first:  # suffix: the last N bytes
            count = int(last)
            if count == 0:
                continue
            ranges.append(ByteRange(max(size - count, 0), size - 1))
            continue
        start = int(first)
        if last and int(last) < start:
            return None
        if start >= size:
            continue
        ranges.append(ByteRange(start, min(int(last), size - 1) if last else size - 1))
    if len(spec.split(",")) > MAX_RANGES:
        return None
    if not ranges or size == 0:
        raise Unsatisfiable()
    ranges.sort(key=lambda r: r.start)
    merged = [ranges[0]]
    for current in ranges[1:]:
        last_range = merged[-1]
        if current.start <= last_range.end + 1:
            merged[-1] = ByteRange(last_range.start, max(last_range.end, current.end))
        else:
            merged.append(current)
    return merged


class BoundedFile:
    """A window of an open file: ``read`` stops at the window's end, and ``fileno`` lets
    gunicorn ``sendfile`` it (it starts at the current position and sends Content-Length)."""

    def __init__(self, handle: BinaryIO, start: int, length: int) -> None:
        self.handle = handle
        self.remaining = length
        handle.seek(start)
        if hasattr(handle, "set_read_end"):  # an object in the store: fetch just the window
            handle.set_read_end(start + length)

    def read(self, size: int = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        size = self.remaining if size is None or size < 0 else min(size, self.remaining)
        data = self.handle.read(size)
        self.remaining -= len(data)
        return data

    def fileno(self) -> int:
        return self.handle.fileno()

    def close(self) -> None:
        self.handle.close()


def _etag(file: File) -> str:
    return quote_etag(file.sha256 or f"{file.size}-{file.storage_key}")


def _last_modified(file: File) -> datetime:
    return file.created_at  # the bytes never change after the upload


def _not_modified_or_failed(request: HttpRequest, file: File) -> HttpResponse | None:
    """If-Match, If-Unmodified-Since, If-None-Match and If-Modified-Since, in RFC 9110 order."""
    etag = _etag(file)
    last_modified = int(_last_modified(file).timestamp())
    if_match = request.headers.get("If-Match")
    if if_match and if_match.strip() != "*" and etag not in [t.strip() for t in if_match.split(",")]:
        return HttpResponse(status=412)
    since = parse_http_date_safe(request.headers.get("If-Unmodified-Since", ""))
    if not if_match and since is not None and last_modified > since:
        return HttpResponse(status=412)
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match:
        tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
        if "*" in tags or etag in tags:
            return _with_validators(HttpResponse(status=304), file)
        return None
    modified_since = parse_http_date_safe(request.headers.get("If-Modified-Since", ""))
    if modified_since is not None and last_modified <= modified_since:
        return _with_validators(HttpResponse(status=304), file)
    return None


def _range_applies(request: HttpRequest, file: File) -> bool:
    """If-Range: a strong ETag equal to ours, or exactly our Last-Modified date."""
    if_range = request.headers.get("If-Range")
    if not if_range:
        return True
    if_range = if_range.strip()
    if if_range.startswith('"'):
        return if_range == _etag(file)
    if if_range.startswith("W/"):
        return False
    date = parse_http_date_safe(if_range)
    return date is not None and date == int(_last_modified(file).timestamp())


def _with_validators(response: HttpResponse, file: File) -> HttpResponse:
    response["ETag"] = _etag(file)
    response["Last-Modified"] = http_date(_last_modified(file).timestamp())
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, no-transform"
    return response


def _content_type(file: File) -> str:
    return file.content_type or "application/octet-stream"


def _multipart(
    handle: BinaryIO, ranges: list[ByteRange], size: int, content_type: str, boundary: str
) -> Iterator[bytes]:
    try:
        for byte_range in ranges:
            yield (
                f"\r\n--{boundary}\r\nContent-Type: {content_type}\r\n"
                f"Content-Range: bytes {byte_range.start}-{byte_range.end}/{size}\r\n\r\n"
            ).encode()
            window = BoundedFile(handle, byte_range.start, byte_range.length)
            while chunk := window.read(1024 * 1024):
                yield chunk
        yield f"\r\n--{boundary}--\r\n".encode()
    finally:
        handle.close()


def _multipart_length(ranges: list[ByteRange], size: int, content_type: str, boundary: str) -> int:
    total = len(f"\r\n--{boundary}--\r\n")
    for byte_range in ranges:
        total += len(
            f"\r\n--{boundary}\r\nContent-Type: {content_type}\r\n"
            f"Content-Range: bytes {byte_range.start}-{byte_range.end}/{size}\r\n\r\n"
        )
        total += byte_range.length
    return total


def serve_file(request: HttpRequest, file: File, *, actor: Any, via: str = "api", signer: Any = None) -> HttpResponse:
    """The response for GET/HEAD of a file's bytes; every GET that sends bytes is audited."""
    blocked = _not_modified_or_failed(request, file)
    if blocked is not None:
        return blocked
    size = file.size
    ranges: list[ByteRange] | None = None
    header = request.headers.get("Range")
    if header and request.method == "GET" and _range_applies(request, file):
        try:
            ranges = parse_range(header, size)
        except Unsatisfiable:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return _with_validators(response, file)
    disposition = content_disposition_header(True, file.name)
    if request.method == "HEAD":
        response = HttpResponse(content_type=_content_type(file))
        response["Content-Length"] = str(size)
        response["Content-Disposition"] = disposition
        return _with_validators(response, file)

    details: dict[str, Any] = {"size": size, "via": via}
    if ranges:
        details["ranges"] = [[r.start, r.end] for r in ranges]
    if signer is not None:
        details["signed_by"] = signer.get_username()
    audit.record(actor, "file.download", file, **details)
    metrics.count_download(via, sum(r.length for r in ranges) if ranges else size)

    if settings.BIOFM_DOWNLOAD_ACCEL_PREFIX and not storage.is_s3():
        # nginx serves the bytes (and the Range) from its internal location on the local disk.
        response = HttpResponse(content_type=_content_type(file))
        response["X-Accel-Redirect"] = settings.BIOFM_DOWNLOAD_ACCEL_PREFIX.rstrip("/") + "/" + file.storage_key
        response["Content-Disposition"] = disposition
        return _with_validators(response, file)

    presigned = (
        storage.presigned_url(file.storage_key, file.name, _content_type(file), settings.BIOFM_S3_PRESIGN_SECONDS)
        if size >= settings.BIOFM_S3_PRESIGN_MIN_BYTES
        else None
    )
    if presigned is not None:
        # The store serves the bytes (and the Range, which the client sends again) itself.
        response = HttpResponseRedirect(presigned)
        response["Cache-Control"] = "private, no-store"
        return response

    handle = storage.open_blob(file.storage_key, size)
    if not ranges:
        response = FileResponse(handle, content_type=_content_type(file))
        response.block_size = 1024 * 1024  # when not sendfile'd (runserver, tests)
        response["Content-Length"] = str(size)
    elif len(ranges) == 1:
        byte_range = ranges[0]
        response = FileResponse(
            BoundedFile(handle, byte_range.start, byte_range.length), status=206, content_type=_content_type(file)
        )
        response.block_size = 1024 * 1024
        response["Content-Length"] = str(byte_range.length)
        response["Content-Range"] = f"bytes {byte_range.start}-{byte_range.end}/{size}"
    else:
        boundary = secrets.token_hex(16)
        response = StreamingHttpResponse(
            _multipart(handle, ranges, size, _content_type(file), boundary),
            status=206,
            content_type=f"multipart/byteranges; boundary={boundary}",
        )
        response["Content-Length"] = str(_multipart_length(ranges, size, _content_type(file), boundary))
    response["Content-Disposition"] = disposition
    response["X-Content-Type-Options"] = "nosniff"
    return _with_validators(response, file)


# --- signed URLs -----------------------------------------------------------------------------


class SignedUrlInvalid(exceptions.PermissionDenied):
    default_detail = "This download link is not valid."
    default_code = "invalid_signature"


def sign_download(file: File, signer: Any, expires_in: int) -> tuple[str, datetime]:
    """A token naming the file, the signer and the expiry, HMAC-signed with the secret key."""
    expires_at = datetime.now(UTC) + timedelta(seconds=expires_in)
    token = signing.dumps(
        {"f": file.id, "u": signer.id, "e": int(expires_at.timestamp())}, salt=SIGNING_SALT, compress=True
    )
    audit.record(signer, "file.signed_url", file, expires_at=expires_at.isoformat(timespec="seconds"))
    return token, expires_at


def unsign_download(token: str) -> tuple[int, int]:
    """``(file id, signer id)`` of a valid, unexpired token; 403 JSON otherwise."""
    try:
        payload = signing.loads(token, salt=SIGNING_SALT)
    except signing.BadSignature as exc:
        raise SignedUrlInvalid(
            "This download link was altered or is not one of ours.", code="invalid_signature"
        ) from exc
    if not isinstance(payload, dict) or not {"f", "u", "e"} <= payload.keys():
        raise SignedUrlInvalid()
    file_id, signer_id, expires = payload["f"], payload["u"], payload["e"]
    if not all(type(value) is int and 0 <= value <= INT_MAX for value in (file_id, signer_id, expires)):
        # Signed with our key but not by this code (another version, a leaked key): it names nothing.
        raise Http404("This download link names no file.")
    if expires < datetime.now(UTC).timestamp():
        raise SignedUrlInvalid("This download link has expired; ask for a new one.", code="expired")
    return file_id, signer_id


# --- index sidecars -------------------------------------------------------------------------

# What htslib and igv.js ask for beside a data file, by index extension.
INDEX_EXTENSIONS = (".bai", ".csi", ".tbi", ".crai")


def index_key(file: File, extension: str = ".bai") -> str | None:
    """The storage key of the file's index of the kind ``extension`` names (``.bai``, ``.csi``, ``.tbi``,
    ``.crai``), or None. The one place that knows where indexes live: one uploaded beside the
    file (``file_upload.sidecars``) when its name is of that kind, else the one the index task
    built beside the blob (``<blob>.bai``, see docs/decisions/0002)."""
    from file_upload.sidecars import index_for

    if extension not in INDEX_EXTENSIONS:
        return None
    uploaded = index_for(file)
    if uploaded is not None and uploaded.name.endswith(extension):
        return uploaded.storage_key
    key = file.storage_key + extension
    return key if storage.exists(key) else None


def requested_index(file: File, name: str) -> str | None:
    """The index extension a signed link's ``name`` asks for, or None when it names the data
    file itself. htslib and igv.js append the extension (``x.bam.bai``) or replace the data
    file's own (``x.bai``); a file that is itself an index (``x.bam.bai``) is asked for by its
    own name."""
    for extension in INDEX_EXTENSIONS:
        if name.endswith(extension) and not file.name.endswith(extension):
            return extension
    return None


def serve_index(request: HttpRequest, file: File, extension: str) -> HttpResponse:
    """The index sidecar's bytes (Range and conditional requests honoured), or 404 when the
    file has none of that kind: never the data file's bytes. Not audited as a download (htslib
    probes several names before every read); the read of the data itself is."""
    from django.http import Http404

    key = index_key(file, extension)
    if key is None:
        raise Http404(f"This file has no {extension} index.")
    try:
        size, mtime = storage.stat(key)
    except FileNotFoundError as exc:
        raise Http404(f"This file has no {extension} index.") from exc
    etag = quote_etag(f"{file.sha256 or file.storage_key}{extension}-{size}-{int(mtime)}")
    if etag in [t.strip().removeprefix("W/") for t in request.headers.get("If-None-Match", "").split(",")]:
        response = HttpResponse(status=304)
        response["ETag"] = etag
        return response
    ranges = None
    header = request.headers.get("Range")
    if header and request.method == "GET" and request.headers.get("If-Range", etag) == etag:
        try:
            ranges = parse_range(header, size)
        except Unsatisfiable:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
    if request.method == "HEAD":
        response = HttpResponse(content_type="application/octet-stream")
        response["Content-Length"] = str(size)
    elif ranges and len(ranges) == 1:
        byte_range = ranges[0]
        response = FileResponse(
            BoundedFile(storage.open_blob(key, size), byte_range.start, byte_range.length),
            status=206,
            content_type="application/octet-stream",
        )
        response["Content-Length"] = str(byte_range.length)
        response["Content-Range"] = f"bytes {byte_range.start}-{byte_range.end}/{size}"
    else:  # several ranges of a small index: the whole of it, as RFC 9110 allows
        response = FileResponse(storage.open_blob(key, size), content_type="application/octet-stream")
        response["Content-Length"] = str(size)
    response["ETag"] = etag
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, no-transform"
    response["Content-Disposition"] = content_disposition_header(True, file.name + extension)
    return response
