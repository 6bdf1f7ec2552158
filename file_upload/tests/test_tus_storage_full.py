"""A full disk during a tus upload is the server's condition, not a crash: 507 JSON, the chunk's
bytes are dropped, the acknowledged offset and earlier bytes are kept, and the upload resumes
once there is room again (or is cancelled to free its bytes)."""

from __future__ import annotations

import errno
import hashlib
import os

import pytest

from file_upload import storage, uploads
from file_upload.models import File, Project, Upload
from file_upload.tests.test_tus_protocol import create, location, patch
from file_upload.uploads import receive

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(alice):
    return Project.objects.create(name="P", owner=alice)


@pytest.fixture
def disk(monkeypatch):
    """``os.write`` as seen by the upload code on a disk with ``room`` bytes left."""
    real_write = os.write
    state = {"room": None}

    def write(fd, data):
        if state["room"] is None:
            return real_write(fd, data)
        if state["room"] <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        written = real_write(fd, bytes(data[: state["room"]]))
        state["room"] -= written
        return written

    monkeypatch.setattr(receive.os, "write", write)
    return state


def test_full_disk_answers_507_and_keeps_the_acknowledged_bytes(api, project, disk):
    data = os.urandom(3 * 1024 * 1024)
    url = location(create(api, project, length=len(data)))
    assert patch(api, url, data[:1048576], 0).status_code == 204

    disk["room"] = 300_000  # the next chunk fits only partly
    response = patch(api, url, data[1048576:], 1048576)
    assert response.status_code == 507
    assert response.json()["code"] == "insufficient_storage"
    assert "storage is full" in response.json()["detail"]
    upload = Upload.objects.get()
    assert upload.offset == 1048576 and upload.state == "active"
    assert uploads.part_path(upload).stat().st_size == 1048576  # the fragment is gone
    assert not File.objects.exists()

    disk["room"] = None  # space was freed: the same client resumes from the offset
    assert int(api.head(url, HTTP_TUS_RESUMABLE="1.0.0")["Upload-Offset"]) == 1048576
    assert patch(api, url, data[1048576:], 1048576).status_code == 204
    file = File.objects.get()
    assert file.sha256 == hashlib.sha256(data).hexdigest()


def test_cancelling_a_stuck_upload_frees_its_bytes(api, project, disk):
    url = location(create(api, project, length=2 * 1024 * 1024))
    assert patch(api, url, b"x" * 1024 * 1024, 0).status_code == 204
    disk["room"] = 0
    assert patch(api, url, b"y" * 1024 * 1024, 1024 * 1024).status_code == 507
    part = uploads.part_path(Upload.objects.get())
    assert api.delete(url, HTTP_TUS_RESUMABLE="1.0.0").status_code == 204
    assert not part.exists()


def test_storage_full_while_storing_the_complete_file_fails_the_upload(api, project, monkeypatch):
    def no_room(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(storage, "adopt", no_room)
    url = location(create(api, project, length=5))
    response = patch(api, url, b"hello", 0)
    assert response.status_code == 204  # every byte arrived; storing it is the finalisation's job
    status = api.get(url + "status/").json()
    assert (status["state"], status["error"], status["file"]) == ("failed", "storage full", None)
    upload = Upload.objects.get()
    assert not uploads.part_path(upload).exists()
    assert not File.objects.exists()
    assert not list(storage.path_for("x").parent.rglob("*"))  # nothing half-stored either
