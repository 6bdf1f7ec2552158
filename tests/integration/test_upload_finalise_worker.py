"""A worker killed while it finalises a tus upload (hashing the received file): the upload stays
``verifying`` with its bytes, its lease lapses, the stale sweep queues it again, and a new
worker stores the file with the right checksums. On both storage backends: in the object store
the received bytes are the parts of the upload's multipart upload, which the first worker may
have completed before it died, and the second finds either."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from file_upload import storage, uploads
from file_upload.models import File, Upload
from file_upload.tasks import finalise_upload_task
from file_upload.tests.factories import ProjectFactory, kept_size, leftover_bytes
from tests.processes import CeleryWorker, wait_for_upload, worker_env

MIB = 1024**2
# Enough hashing to be killed in: a sparse part file of 1 GiB (no disk used) on the local disk;
# 256 MiB of parts in the object store (written for real, and read back at a few hundred MB/s).
SIZES = {"local": 1024 * MIB, "s3": 256 * MIB}
PART = 64 * MIB


def receive_zeros(upload: Upload, size: int) -> None:
    """Every byte of ``upload`` is in (zeros), as the PATCHes would have left them: the part
    file; or the parts of its multipart upload, recorded on the row."""
    if not storage.is_s3():
        os.truncate(uploads.part_path(upload), size)
        return
    client, bucket, key = storage.s3_client(), storage.s3_bucket(), storage.new_key()
    upload_id = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    parts = []
    for number in range(1, size // PART + 1):
        sent = client.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=bytes(PART))
        parts.append({"n": number, "etag": sent["ETag"], "size": PART})
    Upload.objects.filter(id=upload.id).update(storage_key=key, store_upload_id=upload_id, store_parts=parts)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_finalisation_whose_worker_was_killed_is_finished_by_another(
    storage_backend, alice, data_dirs, tmp_path, monkeypatch
):
    size = SIZES[storage_backend]
    queue = f"biofm-test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr(uploads.finalise, "enqueue_finalise", lambda upload_id: None)  # nothing queued yet
    project = ProjectFactory(name="Kill", owner=alice)
    upload = uploads.create_upload(
        owner=alice, length=size, raw_metadata="", project=project, folder=None, metadata={"filename": "big.bin"}
    )
    receive_zeros(upload, size)  # "received": every byte is in
    Upload.objects.filter(id=upload.id).update(
        offset=size, state="verifying", received_at=timezone.now(), queued_at=timezone.now()
    )
    zeros, sha, md5 = bytes(8 * MIB), hashlib.sha256(), hashlib.md5()
    for _ in range(size // len(zeros)):
        sha.update(zeros)
        md5.update(zeros)

    env = worker_env(data_dirs, BIOFM_UPLOAD_LEASE_SECONDS="2")
    first = CeleryWorker(env, tmp_path / "worker1.log", queue=queue).start()
    try:
        finalise_upload_task.apply_async(args=[str(upload.id)], queue=queue)
        deadline = time.monotonic() + 90
        while Upload.objects.get(id=upload.id).lock_token is None:  # the worker took the lease
            first.assert_alive()
            assert time.monotonic() < deadline, first.log()
            time.sleep(0.01)
        first.stop(kill=True)
    finally:
        first.stop()
    row = Upload.objects.get(id=upload.id)
    assert row.state == "verifying" and not File.objects.exists(), first.log()
    # Queued just now and still under the dead worker's lease: the sweep leaves it alone.
    assert uploads.requeue_stale_finalisations() == []

    monkeypatch.setattr(
        uploads.finalise,
        "enqueue_finalise",
        lambda upload_id: finalise_upload_task.apply_async(args=[str(upload_id)], queue=queue),
    )
    while Upload.objects.get(id=upload.id).locked_until > timezone.now():  # nobody renews it
        time.sleep(0.1)
    with CeleryWorker(env, tmp_path / "worker2.log", queue=queue) as second:
        assert uploads.requeue_stale_finalisations(older_than=timedelta(0)) == [str(upload.id)]
        done = wait_for_upload(str(upload.id), timeout=120)
        assert done.state == "completed", second.log()
    file = File.objects.get(id=done.file_id)
    assert (file.size, file.sha256, file.md5) == (size, sha.hexdigest(), md5.hexdigest())
    assert kept_size(upload) is None and leftover_bytes() == []
