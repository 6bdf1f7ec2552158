"""A client that pipelines tus requests on one kept-alive connection (two PATCHes and a HEAD
sent before any answer is read) against a real gunicorn, where PATCH bodies are read straight
from the socket (file_upload.rawbody): each body is read exactly, the next request is found where
it starts, and the stored file equals the source. On both storage backends."""

from __future__ import annotations

import base64
import hashlib
import os
import socket

import pytest
import requests

from authentication.services import issue_token
from file_upload.models import File, Upload
from file_upload.tests.factories import ProjectFactory
from tests.processes import wait_for_upload


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.django_db(transaction=True)
def test_pipelined_patches_and_head_on_one_connection(storage_backend, gunicorn, upload_worker, alice):
    """Two PATCHes and a HEAD sent back to back before any answer is read: each body is read
    exactly, the next request is found where it starts, and the stored file is the source."""
    project = ProjectFactory(name="Pipelined", owner=alice)
    token = issue_token(alice)
    source = os.urandom(6 * 1024 * 1024 + 777)  # a 5 MiB part of the object store and more
    half = len(source) // 2
    meta = f"filename {b64('pipelined.bin')},project {b64(str(project.id))}"
    created = requests.post(
        f"{gunicorn.url}/api/uploads/",
        headers={"Tus-Resumable": "1.0.0", "Upload-Length": str(len(source)), "Upload-Metadata": meta,
                 "Authorization": f"Token {token}"},
        timeout=30,
    )  # fmt: skip
    assert created.status_code == 201
    path = "/" + created.headers["Location"].split("/", 3)[3]

    def patch(offset: int, data: bytes) -> bytes:
        head = (
            f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\nAuthorization: Token {token}\r\n"
            f"Content-Type: application/offset+octet-stream\r\nUpload-Offset: {offset}\r\n"
            f"Content-Length: {len(data)}\r\n\r\n"
        )
        return head.encode() + data

    head_request = (
        f"HEAD {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\nAuthorization: Token {token}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", gunicorn.port), timeout=60) as conn:
        conn.sendall(patch(0, source[:half]) + patch(half, source[half:]) + head_request)
        answers = b""
        while chunk := conn.recv(65536):
            answers += chunk
    statuses = [line for line in answers.split(b"\r\n") if line.startswith(b"HTTP/1.1 ")]
    assert statuses == [b"HTTP/1.1 204 No Content"] * 2 + [b"HTTP/1.1 200 OK"], answers[:2000]
    assert f"Upload-Offset: {len(source)}".encode() in answers.split(b"HTTP/1.1 ")[-1]
    upload = wait_for_upload(Upload.objects.get().id)
    assert upload.state == "completed", upload.error
    assert File.objects.get(id=upload.file_id).sha256 == hashlib.sha256(source).hexdigest()
