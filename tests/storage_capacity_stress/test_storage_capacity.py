"""Storage ceiling: a real gunicorn is fed uploads until its storage is full.

Two ceilings: a per-user quota (``BIOFM_USER_QUOTA_BYTES``, works everywhere) and, when running
as root where mounting is allowed, a real full disk (a 6 MiB tmpfs as the data directory, so
writes fail with ENOSPC). Either way the server must refuse with a JSON 413/507 that says why,
leave no File row or part file behind for the refused upload, keep serving, and leave every file
stored before intact (SHA-256 over HTTP and on disk).
"""

from __future__ import annotations

import base64
import hashlib
import os
import time
from pathlib import Path

import pytest
import requests

from authentication.services import issue_token
from file_upload.models import File, Project, Upload
from file_upload.tests.factories import ProjectFactory
from tests.processes import CeleryWorker, GunicornServer
from tests.storage_capacity_stress.conftest import tmpfs

pytestmark = pytest.mark.timeout(120)
KIB, MIB = 1024, 1024 * 1024


class Tus:
    """A minimal tus client (requests) that reports the first refusal instead of raising."""

    def __init__(self, base: str, token: str, project: int) -> None:
        self.base, self.project = base, project
        self.headers = {"Authorization": f"Token {token}", "Tus-Resumable": "1.0.0"}

    def upload(self, name: str, data: bytes, chunk: int = 256 * KIB) -> tuple[requests.Response, str | None]:
        values = {"filename": name, "project": str(self.project)}
        meta = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())
        headers = {**self.headers, "Upload-Length": str(len(data)), "Upload-Metadata": meta}
        created = requests.post(f"{self.base}/api/uploads/", headers=headers, timeout=30)
        if created.status_code != 201:
            return created, None
        url = created.headers["Location"]
        offset = 0
        while offset < len(data):
            headers = {**self.headers, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"}
            response = requests.patch(url, data=data[offset : offset + chunk], headers=headers, timeout=30)
            if response.status_code != 204:
                return response, url
            offset = int(response.headers["Upload-Offset"])
        # Every byte is in: a worker hashes and stores the file; the status says when it has.
        deadline = time.monotonic() + 60
        while True:
            status = requests.get(url + "status/", headers=self.headers, timeout=30)
            if status.status_code != 200 or status.json()["state"] != "verifying" or time.monotonic() > deadline:
                return status, url
            time.sleep(0.05)


@pytest.fixture
def owner(transactional_db, make_user):
    user = make_user("filler", password="filler-pass-123")
    project = ProjectFactory(name="Full", owner=user)
    return user, project, issue_token(user)


def fill(server: GunicornServer, token: str, project: Project, size: int, limit: int):
    """Upload files of ``size`` until the server refuses one; returns (stored {id: sha}, refusal, url)."""
    tus = Tus(server.url, token, project.id)
    stored: dict[int, str] = {}
    for n in range(limit):
        data = os.urandom(size)
        response, url = tus.upload(f"fill-{n:03d}.bin", data)
        if response.status_code != 200:
            return stored, response, url, tus
        assert response.json()["state"] == "completed", response.json()
        stored[response.json()["file"]] = hashlib.sha256(data).hexdigest()
    pytest.fail(f"the storage never filled up after {limit} uploads")


def assert_still_serving(server: GunicornServer, token: str, stored: dict[int, str], data_dir: Path) -> None:
    auth = {"Authorization": f"Token {token}"}
    health = requests.get(f"{server.url}/healthz", timeout=10)
    # A full store is reported (503 naming the storage check), everything else still answers.
    assert health.status_code == 200 or (
        health.status_code == 503 and health.json()["checks"]["database"] == "ok"
        and "No space" in health.json()["checks"]["storage"]
    ), health.text  # fmt: skip
    listing = requests.get(f"{server.url}/api/files/", headers=auth, timeout=10)
    assert listing.status_code == 200 and listing.json()["count"] == len(stored)
    for file_id, sha in stored.items():
        response = requests.get(f"{server.url}/api/files/{file_id}/download/", headers=auth, timeout=30)
        assert response.status_code == 200 and hashlib.sha256(response.content).hexdigest() == sha
        key = File.objects.get(id=file_id).storage_key
        assert hashlib.sha256((data_dir / "files" / key).read_bytes()).hexdigest() == sha


def assert_nothing_left_over(stored: dict[int, str], data_dir: Path) -> None:
    assert set(File.objects.values_list("id", flat=True)) == set(stored)
    assert not Upload.objects.filter(state="active").exists()
    assert list((data_dir / "tmp" / "tus").glob("*.part")) == []
    assert [p for p in (data_dir / "tmp").glob("*") if p.is_file()] == []


def test_quota_ceiling(owner, tmp_path):
    user, project, token = owner
    data_dir = tmp_path / "data"
    server = GunicornServer(data_dir, tmp_path / "gunicorn.log", {"BIOFM_USER_QUOTA_BYTES": str(4 * MIB)})
    server.start()
    worker = CeleryWorker(server.env, tmp_path / "worker.log").start()
    try:
        stored, refusal, url, _ = fill(server, token, project, 600 * KIB, limit=20)
        assert url is None  # refused at creation: nothing was written at all
        assert refusal.status_code in (413, 507)
        body = refusal.json()
        assert body["code"] == "quota_exceeded" and "quota" in body["detail"]
        assert len(stored) == (4 * MIB) // (600 * KIB)
        assert_nothing_left_over(stored, data_dir)
        assert_still_serving(server, token, stored, data_dir)
    finally:
        worker.stop()
        server.stop()


@pytest.fixture
def small_disk(tmp_path):
    """A 6 MiB tmpfs mounted as the data directory (root only; skipped elsewhere)."""
    with tmpfs(tmp_path / "small-disk", "6m") as mount:
        yield mount


def test_full_disk(owner, tmp_path, small_disk):
    user, project, token = owner
    # Logs and the task broker live elsewhere, as the database does: only file bytes fill up.
    extra = {"BIOFM_LOG_DIR": str(tmp_path / "logs"), "BIOFM_BROKER_DIR": str(tmp_path / "broker")}
    server = GunicornServer(small_disk, tmp_path / "gunicorn.log", extra)
    server.start()
    worker = CeleryWorker(server.env, tmp_path / "worker.log").start()
    try:
        # 1.25 MiB files in 256 KiB chunks: the fifth one runs out of room part-way through.
        stored, refusal, url, tus = fill(server, token, project, 1280 * KIB, limit=12)
        assert refusal.status_code == 507, refusal.text
        body = refusal.json()
        assert body["code"] == "insufficient_storage" and "storage is full" in body["detail"]
        assert len(stored) >= 3
        assert_still_serving(server, token, stored, small_disk)
        # The refused chunk's bytes are gone; the client cancels the rest of the upload.
        assert requests.delete(url, headers=tus.headers, timeout=10).status_code == 204
        assert_nothing_left_over(stored, small_disk)
        assert os.statvfs(small_disk).f_bavail > 0
        assert_still_serving(server, token, stored, small_disk)
        # With that room back, a small file still goes in.
        response, _ = tus.upload("after-full.bin", b"still here\n")
        assert response.status_code == 200 and response.json()["file"]
    finally:
        worker.stop()
        server.stop()
