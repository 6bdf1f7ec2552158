"""The HTTP answers for stored bytes: ``serve_file`` and ``serve_index`` ask
``file_download.services`` (plain values in, a ``Download``/``IndexDownload`` out) and build the
response — status, validators (ETag, Last-Modified), RFC 6266 names, a file body gunicorn can
``sendfile``, ``multipart/byteranges`` for several ranges. Used by the download views and WebDAV.

Public surface: ``serve_file``, ``serve_index``, ``BoundedFile``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any, BinaryIO

from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.http import content_disposition_header, http_date

from file_upload import storage
from file_upload.models import File

from .services import ByteRange, Download, Outcome, etag, last_modified, open_bytes, plan_download, plan_index


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


def _with_validators(response: HttpResponseBase, file: File) -> HttpResponseBase:
    response["ETag"] = etag(file)
    response["Last-Modified"] = http_date(last_modified(file).timestamp())
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, no-transform"
    return response


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


def serve_file(
    request: HttpRequest, file: File, *, actor: Any, via: str = "api", signer: Any = None
) -> HttpResponseBase:
    """The response for GET/HEAD of a file's bytes (``services.plan_download`` decides and audits)."""
    download = plan_download(
        file, method=request.method or "GET", headers=request.headers, actor=actor, via=via, signer=signer
    )
    return respond(download)


def respond(download: Download) -> HttpResponseBase:
    """The HTTP response for a ``Download``."""
    file, size, content_type = download.file, download.size, download.content_type
    outcome, ranges = download.outcome, download.ranges
    if outcome is Outcome.PRECONDITION_FAILED:
        return HttpResponse(status=412)
    if outcome is Outcome.NOT_MODIFIED:
        return _with_validators(HttpResponse(status=304), file)
    if outcome is Outcome.UNSATISFIABLE:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return _with_validators(response, file)
    disposition = content_disposition_header(True, file.name)
    if outcome is Outcome.HEAD:
        response = HttpResponse(content_type=content_type)
        response["Content-Length"] = str(size)
        response["Content-Disposition"] = disposition
        return _with_validators(response, file)
    if outcome is Outcome.ACCEL:
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = download.location
        response["Content-Disposition"] = disposition
        return _with_validators(response, file)
    if outcome is Outcome.REDIRECT:
        response = HttpResponseRedirect(download.location)
        response["Cache-Control"] = "private, no-store"
        return response

    handle = open_bytes(download)
    body: FileResponse | StreamingHttpResponse
    if not ranges:
        body = FileResponse(handle, content_type=content_type)
        body.block_size = 1024 * 1024  # when not sendfile'd (runserver, tests)
        body["Content-Length"] = str(size)
    elif len(ranges) == 1:
        byte_range = ranges[0]
        body = FileResponse(
            BoundedFile(handle, byte_range.start, byte_range.length), status=206, content_type=content_type
        )
        body.block_size = 1024 * 1024
        body["Content-Length"] = str(byte_range.length)
        body["Content-Range"] = f"bytes {byte_range.start}-{byte_range.end}/{size}"
    else:
        boundary = secrets.token_hex(16)
        body = StreamingHttpResponse(
            _multipart(handle, ranges, size, content_type, boundary),
            status=206,
            content_type=f"multipart/byteranges; boundary={boundary}",
        )
        body["Content-Length"] = str(_multipart_length(ranges, size, content_type, boundary))
    body["Content-Disposition"] = disposition
    body["X-Content-Type-Options"] = "nosniff"
    return _with_validators(body, file)


def serve_index(request: HttpRequest, file: File, extension: str, *, reader: Any) -> HttpResponseBase:
    """The index sidecar's bytes as ``reader`` may have them (``services.plan_index``), or 404
    when the file has none."""
    index = plan_index(file, extension, method=request.method or "GET", headers=request.headers, reader=reader)
    size = index.size
    if index.outcome is Outcome.NOT_MODIFIED:
        unchanged = HttpResponse(status=304)
        unchanged["ETag"] = index.etag
        return unchanged
    if index.outcome is Outcome.UNSATISFIABLE:
        unsatisfiable = HttpResponse(status=416)
        unsatisfiable["Content-Range"] = f"bytes */{size}"
        return unsatisfiable
    response: HttpResponseBase
    if index.outcome is Outcome.HEAD:
        response = HttpResponse(content_type="application/octet-stream")
        response["Content-Length"] = str(size)
    elif index.ranges and len(index.ranges) == 1:
        byte_range = index.ranges[0]
        response = FileResponse(
            BoundedFile(storage.open_blob(index.key, size), byte_range.start, byte_range.length),
            status=206,
            content_type="application/octet-stream",
        )
        response["Content-Length"] = str(byte_range.length)
        response["Content-Range"] = f"bytes {byte_range.start}-{byte_range.end}/{size}"
    else:  # several ranges of a small index: the whole of it, as RFC 9110 allows
        response = FileResponse(storage.open_blob(index.key, size), content_type="application/octet-stream")
        response["Content-Length"] = str(size)
    response["ETag"] = index.etag
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, no-transform"
    response["Content-Disposition"] = content_disposition_header(True, index.name)
    return response
