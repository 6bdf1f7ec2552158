"""tus uploads into the object store: one S3 multipart upload per tus upload, parts at fixed
boundaries, the tail kept in the bucket, the SHA-256 state on the row; completion, termination,
expiry and the orphan sweep leave no bytes without a row. Against a real SeaweedFS."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from file_upload import storage, tus_store, uploads
from file_upload.models import File, Upload
from file_upload.tests.factories import ProjectFactory
from file_upload.tests.test_tus_protocol import OCTET, TUS, create, location, meta, patch

pytestmark = [pytest.mark.django_db, pytest.mark.parametrize("storage_backend", ["s3"], indirect=True)]
MIB = 1024 * 1024
DATA = hashlib.sha256(b"seed").digest() * (12 * MIB // 32 + 1000)  # 12 MiB + 32000 bytes


@pytest.fixture
def project(alice):
    return ProjectFactory(name="P", owner=alice)


def store_state(seaweedfs, settings):
    bucket = settings.BIOFM_S3_BUCKET
    return sorted(seaweedfs.objects(bucket)), seaweedfs.multipart_uploads(bucket)


def test_patches_become_parts_and_the_last_byte_completes_the_object(
    api, project, storage_backend, seaweedfs, settings
):
    url = location(create(api, project, length=len(DATA)))
    step = 3 * MIB + 12345  # PATCHes that do not line up with the 5 MiB parts
    offset = 0
    while offset < len(DATA):
        chunk = DATA[offset : offset + step]
        response = patch(api, url, chunk, offset)
        assert response.status_code == 204, response.content
        offset += len(chunk)
        upload = Upload.objects.get()
        assert upload.offset == offset
        if offset < len(DATA):
            objects, multipart = store_state(seaweedfs, settings)
            # Whole parts in the multipart upload, the rest in one kept tail.
            assert [p["n"] for p in upload.store_parts] == list(range(1, offset // (5 * MIB) + 1))
            tail = offset - sum(p["size"] for p in upload.store_parts)
            assert objects == ([f"tus-tails/{upload.id}/{offset - tail}"] if tail else [])
            assert [m["UploadId"] for m in multipart] == [upload.store_upload_id]
    status = api.get(url + "status/").json()
    assert status["state"] == "completed"
    file = File.objects.get(id=status["file"])
    assert file.sha256 == hashlib.sha256(DATA).hexdigest() and file.size == len(DATA)
    with storage.open_blob(file.storage_key) as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == file.sha256
    objects, multipart = store_state(seaweedfs, settings)
    assert objects == [file.storage_key] and multipart == []
    assert not uploads.part_path(Upload.objects.get()).exists()  # nothing on the node's disk


def test_a_resumed_upload_reads_its_tail_from_the_store(api, project, storage_backend):
    """The row is the truth: a tail object longer than the row's offset (a PATCH that died
    after writing it) is cut back, and the hash state goes on from the row."""
    url = location(create(api, project, length=3000))
    assert patch(api, url, DATA[:1000], 0).status_code == 204
    upload = Upload.objects.get()
    # A PATCH that wrote its tail and died before saving the row.
    client = storage.s3_client()
    client.put_object(Bucket=storage.s3_bucket(), Key=f"tus-tails/{upload.id}/0", Body=DATA[:1500] + b"junk")
    assert patch(api, url, DATA[1000:3000], 1000).status_code == 204
    file = File.objects.get()
    assert file.sha256 == hashlib.sha256(DATA[:3000]).hexdigest()
    with storage.open_blob(file.storage_key) as handle:
        assert handle.read() == DATA[:3000]


def test_a_bad_chunk_checksum_keeps_nothing_even_across_a_part_boundary(api, project, storage_backend):
    url = location(create(api, project, length=6 * MIB))
    assert patch(api, url, DATA[: 4 * MIB], 0).status_code == 204
    chunk = DATA[4 * MIB : 6 * MIB]
    wrong = base64.b64encode(hashlib.sha1(b"other").digest()).decode()
    response = patch(api, url, chunk, 4 * MIB, HTTP_UPLOAD_CHECKSUM=f"sha1 {wrong}")
    assert response.status_code == 460
    upload = Upload.objects.get()
    assert upload.offset == 4 * MIB and upload.store_parts == []
    right = base64.b64encode(hashlib.sha1(chunk).digest()).decode()
    assert patch(api, url, chunk, 4 * MIB, HTTP_UPLOAD_CHECKSUM=f"sha1 {right}").status_code == 204
    file = File.objects.get()
    assert file.sha256 == hashlib.sha256(DATA[: 6 * MIB]).hexdigest()


def test_termination_aborts_the_multipart_upload(api, project, storage_backend, seaweedfs, settings):
    url = location(create(api, project, length=len(DATA)))
    assert patch(api, url, DATA[: 6 * MIB], 0).status_code == 204
    assert store_state(seaweedfs, settings)[1]  # a multipart upload is open
    assert api.delete(url, **TUS).status_code == 204
    assert store_state(seaweedfs, settings) == ([], [])


def test_expiry_and_the_orphan_sweep_leave_no_bytes_without_a_row(api, project, storage_backend, seaweedfs, settings):
    url = location(create(api, project, length=len(DATA)))
    assert patch(api, url, DATA[: 6 * MIB], 0).status_code == 204
    Upload.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    # And a multipart upload no row knows of (a node died between creating it and saving the row).
    client = storage.s3_client()
    client.create_multipart_upload(Bucket=storage.s3_bucket(), Key=storage.new_key())
    client.put_object(Bucket=storage.s3_bucket(), Key="tus-tails/00000000-0000-0000-0000-000000000000/0", Body=b"x")
    settings.BIOFM_UPLOAD_EXPIRY_HOURS = 0  # orphans of any age count
    removed = uploads.cleanup_uploads()
    assert removed["uploads"] == 1 and removed["orphans"] == 2
    assert not Upload.objects.exists()
    assert store_state(seaweedfs, settings) == ([], [])
    assert api.head(url, **TUS).status_code == 404


def test_a_live_upload_survives_the_orphan_sweep(api, project, storage_backend, seaweedfs, settings):
    url = location(create(api, project, length=len(DATA)))
    assert patch(api, url, DATA[: 6 * MIB], 0).status_code == 204
    assert tus_store.abort_orphans(timedelta(0)) == 0
    assert patch(api, url, DATA[6 * MIB :], 6 * MIB).status_code == 204
    assert File.objects.get().sha256 == hashlib.sha256(DATA).hexdigest()


def test_an_empty_file_and_a_deferred_length(api, project, storage_backend):
    response = create(api, project, length=0)
    assert response.status_code == 201
    file = File.objects.get()
    assert file.size == 0 and storage.stat(file.storage_key)[0] == 0
    headers = {
        **TUS,
        "HTTP_UPLOAD_DEFER_LENGTH": "1",
        "HTTP_UPLOAD_METADATA": meta(filename="later.bin", project=str(project.id)),
    }
    url = location(api.post("/api/uploads/", **headers))
    assert patch(api, url, b"abc", 0).status_code == 204
    response = api.generic(
        "PATCH", url, b"def", content_type=OCTET, **TUS, HTTP_UPLOAD_OFFSET="3", HTTP_UPLOAD_LENGTH="6"
    )
    assert response.status_code == 204
    later = File.objects.get(name="later.bin")
    with storage.open_blob(later.storage_key) as handle:
        assert handle.read() == b"abcdef"


def test_partial_uploads_are_multipart_uploads_and_leave_nothing_behind(
    api, project, storage_backend, seaweedfs, settings
):
    """tus concatenation in the store: a partial is a multipart upload under ``tus-partials/``;
    a final upload whose checksum fails has completed them into objects, which go with their
    rows (termination), and objects whose row is gone go with the orphan sweep."""
    kept, dropped, orphan = (
        location(api.post("/api/uploads/", **TUS, HTTP_UPLOAD_LENGTH="3", HTTP_UPLOAD_CONCAT="partial"))
        for _ in range(3)
    )
    for url in (kept, dropped, orphan):
        assert patch(api, url, b"abc", 0).status_code == 204
    ids = {url: url.rstrip("/").rsplit("/", 1)[1] for url in (kept, dropped, orphan)}
    assert sorted(m["Key"] for m in store_state(seaweedfs, settings)[1]) == sorted(
        f"tus-partials/{i}" for i in ids.values()
    )
    headers = {
        **TUS,
        "HTTP_UPLOAD_METADATA": meta(filename="x.txt", project=str(project.id), checksum="md5:" + "0" * 32),
    }
    wrong = api.post("/api/uploads/", HTTP_UPLOAD_CONCAT="final;" + " ".join((kept, dropped, orphan)), **headers)
    assert wrong.status_code == 400
    assert store_state(seaweedfs, settings) == (sorted(f"tus-partials/{i}" for i in ids.values()), [])
    assert api.delete(dropped, **TUS).status_code == 204
    Upload.objects.filter(id=ids[orphan]).delete()  # a row gone without its bytes (a crash)
    assert tus_store.abort_orphans(timedelta(0)) == 1
    assert store_state(seaweedfs, settings) == ([f"tus-partials/{ids[kept]}"], [])
    headers["HTTP_UPLOAD_METADATA"] = meta(filename="x.txt", project=str(project.id))
    assert api.post("/api/uploads/", HTTP_UPLOAD_CONCAT="final;" + kept, **headers).status_code == 201
    file = File.objects.get()
    assert store_state(seaweedfs, settings) == ([file.storage_key], [])
    with storage.open_blob(file.storage_key) as handle:
        assert handle.read() == b"abc"
