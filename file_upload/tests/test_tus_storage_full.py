"""Storage without room during a tus upload is the server's condition, not a crash: 507 JSON, the
chunk's bytes are dropped, the acknowledged offset and earlier bytes are kept, and the upload
resumes once there is room again (or is cancelled to free its bytes). On both storage backends:
a full disk (``os.write`` failing with ``ENOSPC`` as the upload code sees it), and a full object
store (the real SeaweedFS behind ``tests.store_faults.FullStoreProxy``, which answers writes as
a full MinIO does, ``507 XMinioStorageFull``, and lets reads and deletions through)."""

from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path

import pytest

from file_upload import storage, tus_store
from file_upload.models import File, Upload
from file_upload.tests.factories import ProjectFactory, assert_kept, kept_size, leftover_bytes, stored_keys
from file_upload.tests.test_tus_protocol import create, location, patch
from file_upload.uploads import receive
from tests.store_faults import FullStoreProxy

pytestmark = pytest.mark.django_db
MIB = 1024 * 1024


@pytest.fixture
def project(alice):
    return ProjectFactory(name="P", owner=alice)


class Room:
    """Runs the storage out of room and gives it back: on the local disk ``os.write`` as seen by
    the upload code, with ``left`` bytes of room (None: unlimited); in the object store every
    write refused while ``left`` is not None (all or nothing)."""

    def __init__(self, monkeypatch, proxy: FullStoreProxy | None) -> None:
        self.left: int | None = None
        self.proxy = proxy
        if proxy is None:
            real_write = os.write

            def write(fd, data):
                if self.left is None:
                    return real_write(fd, data)
                if self.left <= 0:
                    raise OSError(errno.ENOSPC, "No space left on device")
                written = real_write(fd, bytes(data[: self.left]))
                self.left -= written
                return written

            monkeypatch.setattr(receive.os, "write", write)

    def set(self, left: int | None) -> None:
        self.left = left
        if self.proxy is not None:
            self.proxy.full = left is not None


@pytest.fixture
def room(storage_backend, settings, monkeypatch):
    if not storage.is_s3():
        yield Room(monkeypatch, None)
        return
    with FullStoreProxy(settings.BIOFM_S3_ENDPOINT) as proxy:
        settings.BIOFM_S3_ENDPOINT = proxy.endpoint
        storage.reset()
        yield Room(monkeypatch, proxy)
        assert proxy.refused  # the store did refuse writes
    storage.reset()


def test_no_room_answers_507_and_keeps_the_acknowledged_bytes(api, project, room):
    # In the object store the first PATCH leaves a whole part and a kept tail.
    first = 6 * MIB if storage.is_s3() else MIB
    data = os.urandom(first + 7 * MIB if storage.is_s3() else 3 * MIB)
    url = location(create(api, project, length=len(data)))
    assert patch(api, url, data[:first], 0).status_code == 204

    room.set(300_000)  # the next chunk fits only partly (the store refuses it whole)
    response = patch(api, url, data[first:], first)
    assert response.status_code == 507
    assert response.json()["code"] == "insufficient_storage"
    assert "storage is full" in response.json()["detail"]
    assert f"keeps the {first} bytes" in response.json()["detail"]
    upload = Upload.objects.get()
    assert upload.offset == first and upload.state == "active"
    assert_kept(upload, data[:first])  # the fragment is gone
    assert not File.objects.exists()

    room.set(None)  # space was freed: the same client resumes from the offset
    assert int(api.head(url, HTTP_TUS_RESUMABLE="1.0.0")["Upload-Offset"]) == first
    assert patch(api, url, data[first:], first).status_code == 204
    file = File.objects.get()
    assert file.sha256 == hashlib.sha256(data).hexdigest()
    assert leftover_bytes() == []


def test_cancelling_a_stuck_upload_frees_its_bytes(api, project, room):
    first = 6 * MIB if storage.is_s3() else MIB
    url = location(create(api, project, length=first + MIB))
    assert patch(api, url, b"x" * first, 0).status_code == 204
    room.set(0)
    assert patch(api, url, b"y" * MIB, first).status_code == 507
    upload = Upload.objects.get()
    assert kept_size(upload) == first
    assert api.delete(url, HTTP_TUS_RESUMABLE="1.0.0").status_code == 204  # while still full
    assert kept_size(upload) is None and leftover_bytes() == []


def test_storage_full_while_storing_the_complete_file_fails_the_upload(api, project, room, monkeypatch, settings):
    if storage.is_s3():  # the store refuses the completion of the multipart upload
        complete = tus_store.complete

        def refused(upload):
            room.set(0)
            complete(upload)

        monkeypatch.setattr(tus_store, "complete", refused)
    else:

        def no_room(*args, **kwargs):
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(storage, "adopt", no_room)
    url = location(create(api, project, length=5))
    response = patch(api, url, b"hello", 0)
    assert response.status_code == 204  # every byte arrived; storing it is the finalisation's job
    status = api.get(url + "status/").json()
    assert (status["state"], status["error"], status["file"]) == ("failed", "storage full", None)
    assert kept_size(Upload.objects.get()) is None
    assert not File.objects.exists()
    assert stored_keys() == [] and leftover_bytes() == []  # nothing half-stored either
    if not storage.is_s3():
        assert not list(Path(settings.FILES_DIR).rglob("*"))
