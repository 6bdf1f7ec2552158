"""Serving stored bytes, as plain values: which answer a GET/HEAD of a file gets (HTTP Range:
single, suffix, open, multiple; conditional requests; nginx's X-Accel-Redirect; the object
store's presigned URL), audited and counted here; signed URLs; where a file's index sidecars
live. ``file_download/responses.py`` (the face) turns a ``Download``/``IndexDownload`` into
the HTTP response.

Public surface: ``plan_download``, ``plan_index``, ``Download``, ``IndexDownload``, ``Outcome``,
``open_bytes``, ``parse_range``, ``ByteRange``, ``Unsatisfiable``, ``etag``, ``last_modified``,
``sign_download``, ``unsign_download``, ``SignedUrlInvalid``, ``index_key``, ``requested_index``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

from django.conf import settings
from django.core import signing
from django.http import Http404
from django.utils.http import parse_http_date_safe, quote_etag

from authentication import audit
from file_project import metrics
from file_project.domain import Forbidden
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


def etag(file: File) -> str:
    return quote_etag(file.sha256 or f"{file.size}-{file.storage_key}")


def last_modified(file: File) -> datetime:
    return file.created_at  # the bytes never change after the upload


class Outcome(enum.Enum):
    """What a GET/HEAD gets: refused by a precondition (412), not modified (304), a Range that
    fits nothing (416), the headers alone (HEAD), nginx's internal location (``location``), the
    object store's presigned URL (``location``), or the bytes (whole, one range, several)."""

    PRECONDITION_FAILED = "precondition_failed"
    NOT_MODIFIED = "not_modified"
    UNSATISFIABLE = "unsatisfiable"
    HEAD = "head"
    ACCEL = "accel"
    REDIRECT = "redirect"
    BYTES = "bytes"


@dataclass(frozen=True)
class Download:
    outcome: Outcome
    file: File
    ranges: list[ByteRange] | None = None
    location: str = ""

    @property
    def size(self) -> int:
        return int(self.file.size)

    @property
    def content_type(self) -> str:
        return self.file.content_type or "application/octet-stream"


def _precondition(file: File, headers: Mapping[str, str]) -> Outcome | None:
    """If-Match, If-Unmodified-Since, If-None-Match and If-Modified-Since, in RFC 9110 order."""
    tag = etag(file)
    modified = int(last_modified(file).timestamp())
    if_match = headers.get("If-Match")
    if if_match and if_match.strip() != "*" and tag not in [t.strip() for t in if_match.split(",")]:
        return Outcome.PRECONDITION_FAILED
    since = parse_http_date_safe(headers.get("If-Unmodified-Since", ""))
    if not if_match and since is not None and modified > since:
        return Outcome.PRECONDITION_FAILED
    if_none_match = headers.get("If-None-Match")
    if if_none_match:
        tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
        return Outcome.NOT_MODIFIED if "*" in tags or tag in tags else None
    modified_since = parse_http_date_safe(headers.get("If-Modified-Since", ""))
    if modified_since is not None and modified <= modified_since:
        return Outcome.NOT_MODIFIED
    return None


def _range_applies(file: File, headers: Mapping[str, str]) -> bool:
    """If-Range: a strong ETag equal to ours, or exactly our Last-Modified date."""
    if_range = headers.get("If-Range")
    if not if_range:
        return True
    if_range = if_range.strip()
    if if_range.startswith('"'):
        return if_range == etag(file)
    if if_range.startswith("W/"):
        return False
    date = parse_http_date_safe(if_range)
    return date is not None and date == int(last_modified(file).timestamp())


def plan_download(
    file: File, *, method: str, headers: Mapping[str, str], actor: Any, via: str = "api", signer: Any = None
) -> Download:
    """The answer to a GET/HEAD of a file's bytes (``headers`` are the request's); every GET
    that sends bytes (or hands them to nginx or the store) is audited and counted."""
    refused = _precondition(file, headers)
    if refused is not None:
        return Download(refused, file)
    ranges: list[ByteRange] | None = None
    header = headers.get("Range")
    if header and method == "GET" and _range_applies(file, headers):
        try:
            ranges = parse_range(header, file.size)
        except Unsatisfiable:
            return Download(Outcome.UNSATISFIABLE, file)
    if method == "HEAD":
        return Download(Outcome.HEAD, file)

    details: dict[str, Any] = {"size": file.size, "via": via}
    if ranges:
        details["ranges"] = [[r.start, r.end] for r in ranges]
    if signer is not None:
        details["signed_by"] = signer.get_username()
    audit.record(actor, "file.download", file, **details)
    metrics.count_download(via, sum(r.length for r in ranges) if ranges else file.size)

    if settings.BIOFM_DOWNLOAD_ACCEL_PREFIX and not storage.is_s3():
        # nginx serves the bytes (and the Range) from its internal location on the local disk.
        location = settings.BIOFM_DOWNLOAD_ACCEL_PREFIX.rstrip("/") + "/" + file.storage_key
        return Download(Outcome.ACCEL, file, ranges, location)
    content_type = file.content_type or "application/octet-stream"
    presigned = (
        storage.presigned_url(file.storage_key, file.name, content_type, settings.BIOFM_S3_PRESIGN_SECONDS)
        if file.size >= settings.BIOFM_S3_PRESIGN_MIN_BYTES
        else None
    )
    if presigned is not None:
        # The store serves the bytes (and the Range, which the client sends again) itself.
        return Download(Outcome.REDIRECT, file, ranges, presigned)
    return Download(Outcome.BYTES, file, ranges)


def open_bytes(download: Download) -> BinaryIO:
    """The stored bytes of a ``Download`` whose outcome is ``BYTES``, open for reading."""
    handle: BinaryIO = storage.open_blob(download.file.storage_key, download.size)
    return handle


# --- signed URLs -----------------------------------------------------------------------------


class SignedUrlInvalid(Forbidden, code="invalid_signature", detail="This download link is not valid."):
    """A signed link that was tampered with, is malformed or has expired (403)."""


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


def index_key(file: File, extension: str = ".bai", *, reader: Any) -> str | None:
    """The storage key of the file's index of the kind ``extension`` names (``.bai``, ``.csi``, ``.tbi``,
    ``.crai``), or None. The one place that knows where indexes live: one uploaded beside the
    file (``file_upload.sidecars``) when its name is of that kind and ``reader`` may download
    it, else the one the index task built beside the blob (``<blob>.bai``, see
    docs/decisions/0002), which is made from the data file alone."""
    from file_upload.sidecars import index_for

    if extension not in INDEX_EXTENSIONS:
        return None
    uploaded = index_for(file, reader=reader)
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


@dataclass(frozen=True)
class IndexDownload:
    """The answer to a GET/HEAD of an index sidecar: ``NOT_MODIFIED``, ``UNSATISFIABLE``,
    ``HEAD`` or ``BYTES`` (one range, or the whole of it)."""

    outcome: Outcome
    key: str
    size: int
    etag: str
    name: str
    ranges: list[ByteRange] | None = None


def plan_index(file: File, extension: str, *, method: str, headers: Mapping[str, str], reader: Any) -> IndexDownload:
    """The answer to a GET/HEAD of the file's index sidecar as ``reader`` may have it (Range and
    conditional requests honoured), or 404 when the file has none of that kind: never the data
    file's bytes. Not audited as a download (htslib probes several names before every read); the
    read of the data itself is."""
    key = index_key(file, extension, reader=reader)
    if key is None:
        raise Http404(f"This file has no {extension} index.")
    try:
        size, mtime = storage.stat(key)
    except FileNotFoundError as exc:
        raise Http404(f"This file has no {extension} index.") from exc
    tag = quote_etag(f"{file.sha256 or file.storage_key}{extension}-{size}-{int(mtime)}")
    name = file.name + extension
    if tag in [t.strip().removeprefix("W/") for t in headers.get("If-None-Match", "").split(",")]:
        return IndexDownload(Outcome.NOT_MODIFIED, key, size, tag, name)
    ranges = None
    header = headers.get("Range")
    if header and method == "GET" and headers.get("If-Range", tag) == tag:
        try:
            ranges = parse_range(header, size)
        except Unsatisfiable:
            return IndexDownload(Outcome.UNSATISFIABLE, key, size, tag, name)
    if method == "HEAD":
        return IndexDownload(Outcome.HEAD, key, size, tag, name)
    return IndexDownload(Outcome.BYTES, key, size, tag, name, ranges)
