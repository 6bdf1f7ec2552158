"""Resumed downloads against a real gunicorn, on both storage backends (ranges go out through
sendfile from the local disk, through ranged GETs on the object from the store)."""

from __future__ import annotations

import hashlib
import os
import subprocess

import pytest
import requests

from authentication.services import issue_token
from file_upload.tests.factories import ProjectFactory, make_file

# ``storage_backend`` first: the server started for a test takes its store.
pytestmark = [pytest.mark.usefixtures("storage_backend"), pytest.mark.django_db(transaction=True)]


@pytest.fixture
def stored(alice):
    content = os.urandom(5 * 1024 * 1024 + 321)
    return make_file(ProjectFactory(name="D", owner=alice), "big.bin", content), content


def test_curl_resumes_a_cut_download(gunicorn, alice, stored, tmp_path):
    file, content = stored
    url = f"{gunicorn.url}/api/files/{file.id}/download/"
    auth = f"Authorization: Token {issue_token(alice)}"
    target = tmp_path / "big.bin"
    # The first attempt dies after 1 MiB (curl stops at the range), leaving a partial file.
    subprocess.run(["curl", "-sS", "-f", "-H", auth, "-r", "0-1048575", "-o", str(target), url], check=True)
    assert target.stat().st_size == 1024 * 1024
    subprocess.run(["curl", "-sS", "-f", "-H", auth, "-C", "-", "-o", str(target), url], check=True)
    assert hashlib.sha256(target.read_bytes()).hexdigest() == hashlib.sha256(content).hexdigest()


def test_wget_continues_through_a_signed_link(gunicorn, alice, stored, tmp_path):
    from file_download.services import sign_download

    file, content = stored
    token, _ = sign_download(file, alice, 600)
    url = f"{gunicorn.url}/api/signed/{token}/big.bin"
    target = tmp_path / "big.bin"
    target.write_bytes(content[:777_777])
    subprocess.run(["wget", "-q", "-c", "-O", str(target), url], check=True)
    assert target.read_bytes() == content


def test_ranges_through_sendfile_are_exact(gunicorn, alice, stored):
    file, content = stored
    headers = {"Authorization": f"Token {issue_token(alice)}"}
    url = f"{gunicorn.url}/api/files/{file.id}/download/"
    for start, end in [(0, 0), (12345, 2_000_000), (len(content) - 10, len(content) - 1)]:
        response = requests.get(url, headers={**headers, "Range": f"bytes={start}-{end}"}, timeout=30)
        assert response.status_code == 206
        assert response.content == content[start : end + 1]
    whole = requests.get(url, headers=headers, timeout=30)
    assert whole.content == content
    multi = requests.get(url, headers={**headers, "Range": "bytes=0-3,-4"}, timeout=30)
    assert multi.status_code == 206 and multi.headers["Content-Type"].startswith("multipart/byteranges")
    assert content[:4] in multi.content and content[-4:] in multi.content
    bad = requests.get(url, headers={**headers, "Range": "bytes=zz"}, timeout=30)
    assert bad.status_code == 200 and len(bad.content) == len(content)
