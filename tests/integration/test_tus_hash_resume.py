"""A tus upload's SHA-256 survives what real servers go through: a gunicorn worker SIGKILLed in
the middle of a 1 GB PATCH (the client resumes from the last checkpoint), and consecutive
PATCHes taken by two different server processes. In both the stored File's SHA-256 is right and
was computed while the bytes arrived: the upload's ``upload.complete`` audit entry says so
(``hashed: "while receiving"``; a finalisation that had to read the file says ``"re-read"``).
The two-process test runs on both storage backends; the killed-worker test on the local disk
(its object-store counterpart, a whole node killed mid-PATCH, is in test_two_nodes_s3.py)."""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from django.utils import timezone

from authentication.models import AuditEvent
from authentication.services import issue_token
from file_upload.models import File, Project, Upload
from file_upload.tests.factories import ProjectFactory
from tests.processes import GunicornServer

pytestmark = pytest.mark.django_db(transaction=True)
MB = 1000**2
MIB = 1024**2
TUS = {"Tus-Resumable": "1.0.0"}


class Source:
    """``size`` bytes made of 1 MiB random blocks, each stamped with its number (no two alike),
    produced on demand so a gigabyte needs no disk or memory."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.base = os.urandom(MIB)
        digest = hashlib.sha256()
        for block in self.blocks(0, size):
            digest.update(block)
        self.sha256 = digest.hexdigest()

    def blocks(self, start: int, end: int) -> Iterator[bytes]:
        position = start
        while position < end:
            number, within = divmod(position, MIB)
            block = number.to_bytes(8, "big") + self.base[8:]
            piece = block[within : within + min(MIB - within, end - position)]
            yield piece
            position += len(piece)


def b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def create(server: GunicornServer, headers: dict, project: Project, size: int) -> str:
    meta = f"filename {b64('big.bin')},project {b64(str(project.id))}"
    response = requests.post(
        f"{server.url}/api/uploads/", headers={**headers, **TUS, "Upload-Length": str(size), "Upload-Metadata": meta}
    )
    assert response.status_code == 201, response.text
    return urlsplit(response.headers["Location"]).path


def patch(server: GunicornServer, headers: dict, path: str, source: Source, start: int, end: int) -> tuple[int, str]:
    """PATCH bytes [start, end), retrying while a lease left by a killed worker still holds
    (423); returns the status and Upload-Offset."""
    deadline = time.monotonic() + 60
    while True:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=300)
        try:
            conn.request(
                "PATCH",
                path,
                body=source.blocks(start, end),
                headers={
                    **headers,
                    **TUS,
                    "Upload-Offset": str(start),
                    "Content-Type": "application/offset+octet-stream",
                    "Content-Length": str(end - start),
                },
            )
            response = conn.getresponse()
            body = response.read()
        finally:
            conn.close()
        if response.status != 423 or time.monotonic() > deadline:
            return response.status, response.getheader("Upload-Offset") or body.decode()[:300]
        time.sleep(0.5)


def head_offset(server: GunicornServer, headers: dict, path: str) -> int:
    response = requests.head(server.url + path, headers={**headers, **TUS})
    assert response.status_code == 200
    return int(response.headers["Upload-Offset"])


def worker_pids(master: int) -> list[int]:
    pids = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(master):
            pids.append(int(status.parent.name))
    return pids


def hashed_how(upload_id: str) -> str:
    return AuditEvent.objects.get(action="upload.complete", object_id=upload_id).details["hashed"]


@pytest.fixture
def project(alice):
    return ProjectFactory(name="Transfers", owner=alice)


def test_a_worker_killed_600_mb_into_a_1_gb_patch(data_dirs, tmp_path, alice, project):
    """Default checkpoints (every 256 MiB): the worker dies 600 MB in; HEAD then says ≥ 512 MB
    (the 512 MiB checkpoint), the client sends the rest from there, and the File's SHA-256 is
    that of the whole gigabyte without the file being read again."""
    size = 1000 * MB
    source = Source(size)
    server = GunicornServer(data_dirs, tmp_path / "gunicorn.log", {"BIOFM_UPLOAD_LEASE_SECONDS": "2"})
    server.start()
    try:
        auth = {"Authorization": f"Token {issue_token(alice)}"}
        path = create(server, auth, project, size)
        (worker,) = worker_pids(server.proc.pid)
        request = (
            f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth['Authorization']}\r\n"
            f"Tus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
            f"Content-Length: {size}\r\n\r\n"
        ).encode()
        sent = 0
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(request)
            for block in source.blocks(0, 600 * MB):
                sock.sendall(block)
                sent += len(block)
            os.kill(worker, signal.SIGKILL)
            with pytest.raises(OSError):  # the connection dies with the worker
                for block in source.blocks(sent, size):
                    sock.sendall(block)
                    sent += len(block)
                assert sock.recv(1), "the killed worker answered"
        assert sent < size

        offset = head_offset(server, auth, path)
        assert 512 * MB <= offset < 600 * MB
        upload = Upload.objects.get()
        assert upload.state == "active" and upload.sha256_state is not None
        # The dead worker's lease (2 s here) must lapse first, or the PATCH is a 423 (a tus
        # client retries it); wait it out rather than race it.
        if upload.locked_until is not None:
            time.sleep(max(0.0, (upload.locked_until - timezone.now()).total_seconds()) + 0.2)
        assert patch(server, auth, path, source, offset, size) == (204, str(size))
    finally:
        server.stop()
    upload.refresh_from_db()
    assert upload.state == "completed", upload.error
    file = File.objects.get(id=upload.file_id)
    assert (file.size, file.sha256) == (size, source.sha256)
    assert hashed_how(str(upload.id)) == "while receiving"


def test_consecutive_patches_taken_by_two_server_processes(storage_backend, data_dirs, tmp_path, alice, project):
    size = 24 * MIB + 7
    source = Source(size)
    first = GunicornServer(data_dirs, tmp_path / "first.log")
    second = GunicornServer(data_dirs, tmp_path / "second.log")
    first.start()
    second.start()
    try:
        auth = {"Authorization": f"Token {issue_token(alice)}"}
        path = create(first, auth, project, size)
        cuts = [0, 5 * MIB + 3, 13 * MIB, 20 * MIB + 1, size]
        for n, (start, end) in enumerate(zip(cuts, cuts[1:], strict=False)):
            server = (first, second)[n % 2]
            assert head_offset(server, auth, path) == start
            assert patch(server, auth, path, source, start, end) == (204, str(end))
    finally:
        first.stop()
        second.stop()
    upload = Upload.objects.get()
    assert upload.state == "completed", upload.error
    assert File.objects.get(id=upload.file_id).sha256 == source.sha256
    assert hashed_how(str(upload.id)) == "while receiving"
