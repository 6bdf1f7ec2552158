"""Two web nodes and a worker, each with its own data directory, sharing the database, the
broker and a real S3-compatible store (SeaweedFS): nothing of a file lives on one node's disk.

- One tus upload whose PATCHes alternate between the nodes is verified once (its SHA-256
  computed while the bytes arrived), downloaded with Range from the other node, parsed by the
  worker, found by search on both nodes, and purged with no object left in the bucket.
- A node killed in the middle of a PATCH: the client resumes on the other node from the last
  part the dead node had sent, and the File's SHA-256 is that of the whole file.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from django.conf import settings
from django.utils import timezone

from authentication.models import AuditEvent
from authentication.services import issue_token
from file_upload.models import File, Project, Upload
from file_upload.tests.factories import ProjectFactory
from tests.integration.test_tus_hash_resume import TUS, b64, head_offset
from tests.processes import ROOT, CeleryWorker, GunicornServer, worker_env

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.parametrize("storage_backend", ["s3"], indirect=True),
]
MIB = 1024**2


def fastq(size: int) -> bytes:
    """A FASTQ file of about ``size`` bytes with records unlike each other."""
    records, total, n = [], 0, 0
    bases = "ACGT"
    while total < size:
        seq = "".join(bases[(n * 7 + i * 13) % 4] for i in range(100))
        record = f"@read{n}\n{seq}\n+\n{'I' * 100}\n".encode()
        records.append(record)
        total += len(record)
        n += 1
    return b"".join(records)


class Node:
    """A web node: gunicorn and its search-index writer on a data directory of its own."""

    def __init__(self, name: str, root: Path, env: dict[str, str]) -> None:
        data = root / name
        data.mkdir()
        extra = {**env, "BIOFM_SEARCH_INDEX_DIR": str(data / "search-index")}
        self.web = GunicornServer(data, root / f"{name}-web.log", extra_env=extra)
        self.log = (root / f"{name}-writer.log").open("a")
        self.writer = subprocess.Popen(
            [sys.executable, "manage.py", "search_index_writer"],
            cwd=ROOT, env=self.web.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.web.start()

    @property
    def url(self) -> str:
        return self.web.url

    def stop(self, kill: bool = False) -> None:
        self.web.stop(kill=kill)
        if self.writer.poll() is None:
            self.writer.kill() if kill else self.writer.terminate()
            self.writer.wait(timeout=30)
        self.log.close()


@pytest.fixture
def cluster(storage_backend, seaweedfs, tmp_path, data_dirs):
    """Two web nodes and one worker; the environment they share."""
    shared = {
        **seaweedfs.env(settings.BIOFM_S3_BUCKET),
        "BIOFM_S3_PART_BYTES": str(5 * MIB),
        "BIOFM_BROKER_DIR": str(settings.BROKER_DIR),  # used when REDIS_URL is not set
        "BIOFM_CELERY_QUEUE": f"biofm-two-nodes-{os.getpid()}",
        "BIOFM_UPLOAD_LEASE_SECONDS": "2",
        "BIOFM_SEARCH_BACKEND": "tantivy",
    }
    nodes = []
    worker = None
    try:
        nodes = [Node(name, tmp_path, shared) for name in ("node-a", "node-b")]
        worker_dir = tmp_path / "worker"
        worker_dir.mkdir()
        worker = CeleryWorker(worker_env(worker_dir, **shared), tmp_path / "worker.log").start()
        yield nodes, worker
    finally:
        if worker is not None:
            worker.stop()
        for node in nodes:
            node.stop()


def create(node: Node, auth: dict, project: Project, name: str, size: int) -> str:
    meta = f"filename {b64(name)},project {b64(str(project.id))}"
    response = requests.post(
        f"{node.url}/api/uploads/",
        headers={**auth, **TUS, "Upload-Length": str(size), "Upload-Metadata": meta},
        timeout=60,
    )
    assert response.status_code == 201, response.text
    return urlsplit(response.headers["Location"]).path


def patch(node: Node, auth: dict, path: str, data: bytes, offset: int) -> requests.Response:
    deadline = time.monotonic() + 60
    while True:
        response = requests.patch(
            node.url + path,
            data=data,
            headers={**auth, **TUS, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"},
            timeout=300,
        )
        if response.status_code != 423 or time.monotonic() > deadline:  # a dead node's lease
            return response
        time.sleep(0.5)


def wait_for(check, what: str, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def test_one_upload_across_two_nodes_then_download_parse_search_and_purge(cluster, alice, seaweedfs):
    (a, b), worker = cluster
    project = ProjectFactory(name="Shared", owner=alice)
    auth = {"Authorization": f"Token {issue_token(alice)}"}
    data = fastq(13 * MIB)
    path = create(a, auth, project, "cells_R1.fastq", len(data))
    cuts = [0, 3 * MIB + 17, 6 * MIB, 11 * MIB + 5, len(data)]
    for n, (start, end) in enumerate(zip(cuts, cuts[1:], strict=False)):
        node = (a, b)[n % 2]
        assert head_offset(node.web, auth, path) == start
        response = patch(node, auth, path, data[start:end], start)
        assert response.status_code == 204, response.text
        assert response.headers["Upload-Offset"] == str(end)

    upload = Upload.objects.get()
    assert upload.state == "completed", upload.error
    file = File.objects.get(id=upload.file_id)
    assert (file.size, file.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    completes = AuditEvent.objects.filter(action="upload.complete", object_id=str(upload.id))
    assert [e.details["hashed"] for e in completes] == ["while receiving"]  # verified once
    for node_dir in ("node-a", "node-b", "worker"):  # no node holds the bytes
        files_dir = Path(a.web.env["BIOFM_DATA_DIR"]).parent / node_dir / "files"
        assert not [p for p in files_dir.rglob("*") if p.is_file()]

    # Downloaded with Range from the node that did not take the last PATCH.
    other = (a, b)[len(cuts) % 2]
    ranged = requests.get(
        f"{other.url}/api/files/{file.id}/download/", headers={**auth, "Range": "bytes=6291450-6291500"}, timeout=60
    )
    assert ranged.status_code == 206 and ranged.content == data[6291450:6291501]
    whole = requests.get(f"{other.url}/api/files/{file.id}/download/", headers=auth, timeout=120)
    assert whole.status_code == 200 and hashlib.sha256(whole.content).hexdigest() == file.sha256

    # Parsed by the worker, which reads the object from the store.
    def parsed():
        file.refresh_from_db()
        return file.parse_status in ("done", "failed") and file

    wait_for(parsed, "the worker to parse the file", timeout=180)
    worker.assert_alive()
    assert file.parse_status == "done", file.parse_error
    assert file.stats["reads"] == data.count(b"\n@read") + 1

    # Found by search on both nodes.
    def found_on(node: Node) -> bool:
        response = requests.get(f"{node.url}/api/files/?q=cells_R1", headers=auth, timeout=30)
        return response.status_code == 200 and [f["id"] for f in response.json()["results"]] == [file.id]

    for node in (a, b):
        wait_for(lambda node=node: found_on(node), f"search on {node.url}")

    # Purged from one node: no object left in the bucket.
    assert requests.delete(f"{a.url}/api/files/{file.id}/", headers=auth, timeout=60).status_code == 204
    assert requests.post(f"{b.url}/api/trash/{file.id}/purge/", headers=auth, timeout=60).status_code in (200, 204)
    assert not File.objects.filter(id=file.id).exists()
    bucket = settings.BIOFM_S3_BUCKET
    assert seaweedfs.objects(bucket) == [] and seaweedfs.multipart_uploads(bucket) == []


def test_a_node_killed_mid_patch_and_the_client_resumes_on_the_other(cluster, alice):
    (a, b), _worker = cluster
    project = ProjectFactory(name="Fault", owner=alice)
    auth = {"Authorization": f"Token {issue_token(alice)}"}
    data = os.urandom(MIB) * 22 + b"tail-bytes"
    path = create(a, auth, project, "big.bin", len(data))
    request = (
        f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth['Authorization']}\r\n"
        f"Tus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    ).encode()
    sent = 13 * MIB
    with socket.create_connection(("127.0.0.1", a.web.port)) as sock:
        sock.sendall(request + data[:sent])

        def two_parts_in() -> bool:  # the node has sent two parts and saved them with the offset
            return Upload.objects.get().offset >= 10 * MIB

        wait_for(two_parts_in, "the first parts to reach the store")
        a.stop(kill=True)  # the whole node: master, worker and index writer
    offset = head_offset(b.web, auth, path)
    assert 10 * MIB <= offset <= sent and offset % (5 * MIB) == 0
    upload = Upload.objects.get()
    assert upload.sha256_state is not None and len(upload.store_parts) == offset // (5 * MIB)
    if upload.locked_until is not None:  # the dead node's lease lapses first
        time.sleep(max(0.0, (upload.locked_until - timezone.now()).total_seconds()) + 0.2)
    response = patch(b, auth, path, data[offset:], offset)
    assert response.status_code == 204, response.text
    upload.refresh_from_db()
    assert upload.state == "completed", upload.error
    file = File.objects.get(id=upload.file_id)
    assert (file.size, file.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert AuditEvent.objects.get(action="upload.complete", object_id=str(upload.id)).details["hashed"] == (
        "while receiving"
    )
    ranged = requests.get(f"{b.url}/api/files/{file.id}/download/", headers={**auth, "Range": "bytes=-10"}, timeout=60)
    assert ranged.status_code == 206 and ranged.content == b"tail-bytes"
