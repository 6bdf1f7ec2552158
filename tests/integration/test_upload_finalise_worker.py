"""A worker killed while it finalises a tus upload (hashing the received file): the upload stays
``verifying`` with its bytes, its lease lapses, the stale sweep queues it again, and a new
worker stores the file with the right checksums."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from file_upload import uploads
from file_upload.models import File, Project, Upload
from file_upload.tasks import finalise_upload_task
from tests.processes import CeleryWorker, wait_for_upload, worker_env

SIZE = 1024**3  # a sparse file: no disk used, and a second or two of hashing to be killed in


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_finalisation_whose_worker_was_killed_is_finished_by_another(alice, data_dirs, tmp_path, monkeypatch):
    queue = f"biofm-test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr(uploads.finalise, "enqueue_finalise", lambda upload_id: None)  # nothing queued yet
    project = Project.objects.create(name="Kill", owner=alice)
    upload = uploads.create_upload(
        owner=alice, length=SIZE, raw_metadata="", project=project, folder=None, metadata={"filename": "big.bin"}
    )
    os.truncate(uploads.part_path(upload), SIZE)  # "received": every byte is in
    Upload.objects.filter(id=upload.id).update(
        offset=SIZE, state="verifying", received_at=timezone.now(), queued_at=timezone.now()
    )
    zeros, sha, md5 = bytes(8 * 1024 * 1024), hashlib.sha256(), hashlib.md5()
    for _ in range(SIZE // len(zeros)):
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
    assert (file.size, file.sha256, file.md5) == (SIZE, sha.hexdigest(), md5.hexdigest())
    assert not uploads.part_path(upload).exists()
