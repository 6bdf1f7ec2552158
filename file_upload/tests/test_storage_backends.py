"""The storage layer on both backends: the local disk and a real S3-compatible store
(SeaweedFS started by the test suite)."""

from __future__ import annotations

import hashlib
import io
import os

import pytest
import requests

from file_upload import storage

pytestmark = pytest.mark.usefixtures("storage_backend")

DATA = bytes(range(256)) * 40_000  # 10 MB: more than one 5 MiB part


def test_write_stream_then_read_back_whole_and_in_windows():
    key = storage.new_key()
    digest = storage.write_stream(io.BytesIO(DATA), key)
    assert digest.size == len(DATA)
    assert digest.sha256 == hashlib.sha256(DATA).hexdigest()
    assert digest.md5 == hashlib.md5(DATA).hexdigest()
    assert storage.exists(key) and storage.stat(key)[0] == len(DATA)
    with storage.open_blob(key) as handle:
        assert handle.read() == DATA
    with storage.open_blob(key) as handle:
        handle.seek(7_000_000)
        assert handle.read(10) == DATA[7_000_000:7_000_010]
        handle.seek(-5, os.SEEK_END)
        assert handle.read() == DATA[-5:]
        handle.seek(3)
        assert handle.read(4) == DATA[3:7]


def test_adopt_moves_a_finished_file_and_put_file_copies(tmp_path):
    source = tmp_path / "upload.tmp"
    source.write_bytes(DATA[:1000])
    key = storage.new_key()
    storage.adopt(source, key)
    assert not source.exists()
    with storage.open_blob(key) as handle:
        assert handle.read() == DATA[:1000]
    kept = tmp_path / "index.bai"
    kept.write_bytes(b"BAI\x01")
    storage.put_file(kept, key + ".bai")
    assert kept.exists() and storage.exists(key + ".bai")


def test_local_copy_gives_a_path_and_cleans_up():
    key = storage.new_key()
    storage.write_stream(io.BytesIO(DATA[:5000]), key)
    with storage.local_copy(key) as path:
        assert path.read_bytes() == DATA[:5000]
        (path.parent / (path.name + ".bai")).write_bytes(b"x")  # something built beside it
    if storage.is_s3():
        assert not path.exists() and not path.parent.exists()
    else:
        assert path.exists()  # the blob itself


def test_missing_keys_and_delete():
    key = storage.new_key()
    assert not storage.exists(key)
    with pytest.raises(FileNotFoundError):
        storage.open_blob(key)
    with pytest.raises(FileNotFoundError), storage.local_copy(key):
        pass
    storage.write_stream(io.BytesIO(b"abc"), key)
    storage.delete_blob(key)
    assert not storage.exists(key)
    storage.delete_blob(key)  # twice is fine


def test_keys_cannot_escape():
    for key in ("../x", "/etc/passwd", "a/../../b", ""):
        with pytest.raises(ValueError):
            storage.write_stream(io.BytesIO(b"x"), key)


def test_presigned_url_only_when_enabled(settings, storage_backend):
    key = storage.new_key()
    storage.write_stream(io.BytesIO(DATA[:100]), key)
    assert storage.presigned_url(key, "a.txt", "text/plain", 60) is None
    settings.BIOFM_S3_PRESIGN_DOWNLOADS = True
    url = storage.presigned_url(key, "a b.txt", "text/plain", 60)
    if storage_backend == "local":
        assert url is None
        return
    response = requests.get(url, headers={"Range": "bytes=10-19"}, timeout=30)
    assert response.status_code == 206 and response.content == DATA[10:20]
    assert "a b.txt" in response.headers["Content-Disposition"]
    tampered = url.replace("a%20b.txt", "evil.txt")
    assert requests.get(tampered, timeout=30).status_code == 403


def test_the_bucket_is_created_when_missing(storage_backend, seaweedfs, settings):
    if storage_backend != "s3":
        pytest.skip("the local backend has no bucket")
    client = seaweedfs.client()
    names = [b["Name"] for b in client.list_buckets().get("Buckets", [])]
    assert settings.BIOFM_S3_BUCKET not in names  # the fixture only named it
    storage.write_stream(io.BytesIO(b"first"), storage.new_key())
    names = [b["Name"] for b in client.list_buckets().get("Buckets", [])]
    assert settings.BIOFM_S3_BUCKET in names
