"""tus uploads into the object store (``BIOFM_STORAGE=s3``), so that any web node can take the
next PATCH of any upload.

Each tus upload is one S3 multipart upload under the key its File will have
(``Upload.storage_key``). PATCH bytes are cut at fixed part boundaries (part *n* holds bytes
``[(n-1)·P, n·P)`` with ``P = BIOFM_S3_PART_BYTES``, at least 5 MiB), so a retried or resumed
PATCH sends the same part numbers again and overwrites, never duplicates. The parts sent are
recorded on the row (``Upload.store_parts``) together with the offset and the SHA-256 state at
every part boundary; the bytes past the last part (the tail, less than one part) are kept at
the end of each PATCH in a small object of the bucket, ``tus-tails/<upload id>/<start>``, where
``<start>`` is the offset it begins at: a tail whose start is not the row's is stale. The row is
the truth: an object written by a PATCH that died before saving the row is overwritten or
ignored, and the tail read back is cut to ``offset - start``.

The last byte completes the multipart upload (the tail as its last part); termination, expiry
and failure abort it and delete the tail; ``abort_orphans`` aborts multipart uploads and
deletes tails of the bucket that no live upload row names (the cleanup task calls it), so no
bytes outlive their row.

A partial upload (tus concatenation) is a multipart upload like any other, under
``tus-partials/<upload id>``; its final upload completes it and reads the object
(``file_upload.concat``), and the object goes with the partial's row.

Public surface: ``PartWriter``, ``complete``, ``discard``, ``abort_orphans``, ``part_bytes``,
``TAIL_PREFIX``, ``PARTIAL_PREFIX``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings

from . import storage
from .models import Upload, UploadState

log = logging.getLogger(__name__)

TAIL_PREFIX = "tus-tails/"
PARTIAL_PREFIX = "tus-partials/"  # a partial upload's key (tus concatenation): never a File's
LIVE_STATES = (UploadState.ACTIVE, UploadState.VERIFYING)


def part_bytes() -> int:
    return max(int(settings.BIOFM_S3_PART_BYTES), 5 * 1024 * 1024)


def _tail_key(upload: Upload, start: int) -> str:
    return f"{TAIL_PREFIX}{upload.id}/{start}"


def _recorded(parts: list[dict[str, Any]]) -> int:
    return sum(int(part["size"]) for part in parts)


class PartWriter:
    """The bytes of one PATCH on their way into the upload's multipart upload.

    ``append`` takes bytes (never more than ``room()``), and sends a part each time one is full
    (``full()``/``send_part()``); ``save_tail`` keeps the rest for the next PATCH. ``parts`` is
    what the row should record once the caller has saved the matching offset and hash state."""

    def __init__(self, upload: Upload) -> None:
        self.upload = upload
        self.client = storage.s3_client()
        self.bucket = storage.s3_bucket()
        self.size = part_bytes()
        if not upload.storage_key:
            upload.storage_key = storage.new_key()
        if not upload.store_upload_id:
            created = self.client.create_multipart_upload(Bucket=self.bucket, Key=upload.storage_key)
            upload.store_upload_id = created["UploadId"]
            Upload.objects.filter(id=upload.id).update(
                storage_key=upload.storage_key, store_upload_id=upload.store_upload_id, store_parts=[]
            )
            upload.store_parts = []
        self.parts: list[dict[str, Any]] = list(upload.store_parts or [])
        self.start = _recorded(self.parts)
        self.buffer = bytearray(self._read_tail(upload.offset - self.start))

    def _read_tail(self, length: int) -> bytes:
        if length <= 0:
            return b""
        response = self.client.get_object(
            Bucket=self.bucket, Key=_tail_key(self.upload, self.start), Range=f"bytes=0-{length - 1}"
        )
        data = response["Body"].read()
        if len(data) != length:
            raise OSError(f"upload {self.upload.id}: the kept tail holds {len(data)} bytes, not {length}")
        return data

    def room(self) -> int:
        """Bytes until the current part is full."""
        return self.size - len(self.buffer)

    def append(self, data: bytes | memoryview) -> None:
        self.buffer += data

    def full(self) -> bool:
        return len(self.buffer) >= self.size

    def send_part(self) -> None:
        """Send the full part; the buffer starts the next one."""
        number = len(self.parts) + 1
        body = bytes(self.buffer[: self.size])
        sent = self.client.upload_part(
            Bucket=self.bucket,
            Key=self.upload.storage_key,
            UploadId=self.upload.store_upload_id,
            PartNumber=number,
            Body=body,
        )
        self.parts.append({"n": number, "etag": sent["ETag"], "size": len(body)})
        del self.buffer[: self.size]
        self.start += len(body)

    def save_tail(self) -> None:
        """Keep the bytes past the last part where any node finds them (before the row says so)."""
        if self.buffer:
            self.client.put_object(Bucket=self.bucket, Key=_tail_key(self.upload, self.start), Body=bytes(self.buffer))
        self._drop_stale_tails()

    def _drop_stale_tails(self) -> None:
        keep = _tail_key(self.upload, self.start) if self.buffer else None
        listing = self.client.list_objects_v2(Bucket=self.bucket, Prefix=f"{TAIL_PREFIX}{self.upload.id}/")
        for item in listing.get("Contents", []):
            if item["Key"] != keep:
                self.client.delete_object(Bucket=self.bucket, Key=item["Key"])


def complete(upload: Upload) -> None:
    """Every byte is in: send the tail as the last part and complete the multipart upload, so
    the object under ``storage_key`` holds the file. An upload never PATCHed (an empty file)
    becomes an empty object."""
    if not upload.store_upload_id:
        storage.s3_client().put_object(Bucket=storage.s3_bucket(), Key=upload.storage_key, Body=b"")
        return
    writer = PartWriter(upload)
    if writer.buffer or not writer.parts:
        number = len(writer.parts) + 1
        sent = writer.client.upload_part(
            Bucket=writer.bucket,
            Key=upload.storage_key,
            UploadId=upload.store_upload_id,
            PartNumber=number,
            Body=bytes(writer.buffer),
        )
        writer.parts.append({"n": number, "etag": sent["ETag"], "size": len(writer.buffer)})
    writer.client.complete_multipart_upload(
        Bucket=writer.bucket,
        Key=upload.storage_key,
        UploadId=upload.store_upload_id,
        MultipartUpload={"Parts": [{"PartNumber": p["n"], "ETag": p["etag"]} for p in writer.parts]},
    )
    Upload.objects.filter(id=upload.id).update(store_parts=writer.parts)
    upload.store_parts = writer.parts
    writer.buffer.clear()
    writer._drop_stale_tails()


def discard(upload: Upload, *, stored_object: bool = False) -> None:
    """Abort the upload's multipart upload and delete its tail (and, with ``stored_object``,
    the completed object: a failed finalisation; a partial upload's object always goes, it is
    never a File's). Missing pieces are not an error."""
    from botocore.exceptions import ClientError

    stored_object = stored_object or upload.concat == "partial"

    client, bucket = storage.s3_client(), storage.s3_bucket()
    if upload.store_upload_id and upload.storage_key:
        try:
            client.abort_multipart_upload(Bucket=bucket, Key=upload.storage_key, UploadId=upload.store_upload_id)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("NoSuchUpload", "404"):
                raise
    listing = client.list_objects_v2(Bucket=bucket, Prefix=f"{TAIL_PREFIX}{upload.id}/")
    for item in listing.get("Contents", []):
        client.delete_object(Bucket=bucket, Key=item["Key"])
    if stored_object and upload.storage_key:
        storage.delete_blob(upload.storage_key)


def abort_orphans(older_than: timedelta) -> int:
    """Abort the bucket's multipart uploads and delete the tails and partial uploads' objects
    (``PARTIAL_PREFIX``) that no active or verifying upload row names and that are older than
    ``older_than`` (a creation racing this sweep is younger). Returns how many were removed."""
    client, bucket = storage.s3_client(), storage.s3_bucket()
    horizon = datetime.now(UTC) - older_than
    live = Upload.objects.filter(state__in=LIVE_STATES)
    live_ids = {str(i) for i in live.values_list("id", flat=True)}
    live_multipart = set(live.exclude(store_upload_id="").values_list("store_upload_id", flat=True))
    removed = 0
    for page in client.get_paginator("list_multipart_uploads").paginate(Bucket=bucket):
        for item in page.get("Uploads", []):
            if item["UploadId"] in live_multipart or item["Initiated"] > horizon:
                continue
            client.abort_multipart_upload(Bucket=bucket, Key=item["Key"], UploadId=item["UploadId"])
            removed += 1
    for prefix in (TAIL_PREFIX, PARTIAL_PREFIX):
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                upload_id = item["Key"][len(prefix) :].split("/", 1)[0]
                if upload_id in live_ids or item["LastModified"] > horizon:
                    continue
                client.delete_object(Bucket=bucket, Key=item["Key"])
                removed += 1
    if removed:
        log.warning("removed %d orphaned multipart uploads and upload tails from the store", removed)
    return removed
