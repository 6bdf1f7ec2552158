"""The real tuspy client against a real gunicorn (and, where uploads finish, a real Celery worker
that finalises them): chunked, interrupted and resumed uploads, a server restart between chunks,
checksum and offset mismatches, termination, and isolation between users. Every stored file's
SHA-256 must equal the source's. On both storage backends: the source crosses a part boundary of
the object store's multipart upload, and what an unfinished upload keeps is looked at through
``kept_size``/``assert_kept`` (the part file, or the recorded parts and the kept tail)."""

from __future__ import annotations

import hashlib
import os
import time

import pytest
import requests
from tusclient import client as tus_client
from tusclient import request as tus_request
from tusclient.exceptions import TusCommunicationError, TusUploadFailed

from authentication.services import issue_token
from file_upload.models import File, Upload
from file_upload.tests.factories import ProjectFactory, assert_kept, blob_bytes, kept_size, leftover_bytes
from tests.processes import wait_for_upload

# ``storage_backend`` first: the servers started for a test take its store.
pytestmark = [pytest.mark.usefixtures("storage_backend"), pytest.mark.django_db(transaction=True)]
MIB = 1024 * 1024


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "sample_R1.fastq.gz"
    path.write_bytes(os.urandom(6 * MIB + 12345))  # a 5 MiB part of the object store and more
    return path


@pytest.fixture
def project(alice):
    return ProjectFactory(name="Transfers", owner=alice)


def client_for(server, user) -> tus_client.TusClient:
    return tus_client.TusClient(f"{server.url}/api/uploads/", headers={"Authorization": f"Token {issue_token(user)}"})


def uploader(client, source, project, **kwargs):
    return client.uploader(
        file_path=str(source),
        chunk_size=kwargs.pop("chunk_size", 512 * 1024),
        metadata={"filename": source.name, "project": str(project.id), **kwargs.pop("metadata", {})},
        **kwargs,
    )


def stored_sha(upload_url: str) -> str:
    """The stored file's SHA-256, once the worker has finalised the upload."""
    upload = wait_for_upload(upload_url.rstrip("/").rsplit("/", 1)[1])
    assert upload.state == "completed", upload.error
    file = File.objects.get(id=upload.file_id)
    deadline = time.monotonic() + 60
    while not file.md5 and time.monotonic() < deadline:  # the worker fills it in after the File exists
        time.sleep(0.1)
        file.refresh_from_db()
    assert len(file.md5) == 32
    return file.sha256


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_chunked_upload(gunicorn, upload_worker, alice, project, source):
    up = uploader(client_for(gunicorn, alice), source, project, metadata={"organism": "Homo sapiens"})
    up.upload()
    assert stored_sha(up.url) == sha(source)
    file = File.objects.get(name=source.name)
    assert (file.size, file.organism, file.upload_method) == (source.stat().st_size, "Homo sapiens", "tus")
    assert blob_bytes(file.storage_key) == source.read_bytes()


def test_stopped_half_way_and_resumed_by_a_new_client(gunicorn, upload_worker, alice, project, source):
    first = uploader(client_for(gunicorn, alice), source, project)
    first.upload(stop_at=source.stat().st_size // 2)
    url = first.url
    half = Upload.objects.get().offset
    assert 0 < half < source.stat().st_size
    resumed = uploader(client_for(gunicorn, alice), source, project, url=url)
    assert resumed.offset == half  # read from the server with HEAD
    resumed.upload()
    assert stored_sha(url) == sha(source)


def test_resume_after_gunicorn_restart(gunicorn, upload_worker, alice, project, source):
    first = uploader(client_for(gunicorn, alice), source, project)
    first.upload(stop_at=1024 * 1024)
    gunicorn.stop(kill=True)
    gunicorn.start()
    resumed = uploader(client_for(gunicorn, alice), source, project, url=first.url)
    assert resumed.offset == 1024 * 1024
    resumed.upload()
    assert stored_sha(first.url) == sha(source)


def test_checksum_mismatch_is_refused_then_a_clean_retry_succeeds(
    gunicorn, upload_worker, alice, project, source, monkeypatch
):
    original = tus_request.TusRequest.add_checksum

    def corrupt(self, chunk):
        original(self, chunk + b"!")

    first = uploader(client_for(gunicorn, alice), source, project, upload_checksum=True)
    first.upload_chunk()
    offset = Upload.objects.get().offset
    monkeypatch.setattr(tus_request.TusRequest, "add_checksum", corrupt)
    with pytest.raises(TusUploadFailed) as failure:
        first.upload_chunk()
    assert failure.value.status_code == 460
    assert Upload.objects.get().offset == offset
    monkeypatch.setattr(tus_request.TusRequest, "add_checksum", original)
    retry = uploader(client_for(gunicorn, alice), source, project, upload_checksum=True, url=first.url)
    retry.upload()
    assert stored_sha(first.url) == sha(source)


def test_offset_mismatch_is_409(gunicorn, alice, project, source):
    up = uploader(client_for(gunicorn, alice), source, project)
    up.upload_chunk()
    up.offset = 7  # a confused client
    with pytest.raises(TusUploadFailed) as failure:
        up.upload_chunk()
    assert failure.value.status_code == 409
    assert Upload.objects.get().offset == 512 * 1024


def test_termination_frees_disk_space(gunicorn, alice, project, source):
    up = uploader(client_for(gunicorn, alice), source, project)
    up.upload(stop_at=5 * MIB + MIB // 2)  # a whole part and a tail, in the object store
    upload = Upload.objects.get()
    assert upload.offset == 5 * MIB + MIB // 2
    assert_kept(upload, source.read_bytes()[: upload.offset])
    response = requests.delete(up.url, headers={"Tus-Resumable": "1.0.0", **up.get_headers()}, timeout=10)
    assert response.status_code == 204
    assert kept_size(upload) is None and leftover_bytes() == []
    assert requests.head(up.url, headers=up.get_headers(), timeout=10).status_code == 410
    with pytest.raises(TusCommunicationError):
        uploader(client_for(gunicorn, alice), source, project, url=up.url)


def test_another_user_cannot_touch_the_upload(gunicorn, alice, bob, project, source):
    up = uploader(client_for(gunicorn, alice), source, project)
    up.upload(stop_at=1024 * 1024)
    with pytest.raises(TusCommunicationError):
        uploader(client_for(gunicorn, bob), source, project, url=up.url)
    bob_headers = {"Authorization": f"Token {issue_token(bob)}", "Tus-Resumable": "1.0.0"}
    assert requests.delete(up.url, headers=bob_headers, timeout=10).status_code == 404
    patch = requests.patch(
        up.url, data=b"x", timeout=10,
        headers={**bob_headers, "Upload-Offset": "1048576", "Content-Type": "application/offset+octet-stream"},
    )  # fmt: skip
    assert patch.status_code == 404
    assert Upload.objects.get().offset == 1024 * 1024


def test_racing_patches_never_interleave(gunicorn, alice, project, tmp_path):
    """A second PATCH while the first still streams is refused (423); the bytes stay whole."""
    import threading
    import time

    headers = {"Authorization": f"Token {issue_token(alice)}", "Tus-Resumable": "1.0.0"}
    created = requests.post(
        f"{gunicorn.url}/api/uploads/", timeout=10,
        headers={**headers, "Upload-Length": "2000000",
                 "Upload-Metadata": f"filename {b64('race.bin')},project {b64(str(project.id))}"},
    )  # fmt: skip
    url = created.headers["Location"]
    first_part = b"A" * 1_000_000
    path = url.split(str(gunicorn.port), 1)[1]

    def send_slow(conn):
        conn.putrequest("PATCH", path)
        for name, value in {
            **headers,
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
            "Content-Length": str(len(first_part)),
        }.items():
            conn.putheader(name, value)
        conn.endheaders()
        for i in range(0, len(first_part), 100_000):
            conn.send(first_part[i : i + 100_000])
            time.sleep(0.1)
        results["slow"] = conn.getresponse().status

    import http.client

    results = {}
    thread = threading.Thread(target=send_slow, args=(http.client.HTTPConnection("127.0.0.1", gunicorn.port),))
    thread.start()
    time.sleep(0.4)
    racer = requests.patch(
        url, data=b"B" * 1_000_000, timeout=30,
        headers={**headers, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
    )  # fmt: skip
    thread.join()
    assert racer.status_code == 423
    assert results["slow"] == 204
    upload = Upload.objects.get()
    assert upload.offset == 1_000_000
    assert_kept(upload, first_part)


def b64(value: str) -> str:
    import base64

    return base64.b64encode(value.encode()).decode()
