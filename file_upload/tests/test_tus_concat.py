"""The tus concatenation extension (``file_upload.concat``) through the Django test client:
partial uploads never become files, a final upload joins the caller's finished partials into
one File whose SHA-256 and MD5 cover the whole, and then the partials are gone. Every test runs
on both storage backends: on the local disk partials are part files, in the object store
(SeaweedFS) multipart uploads under ``tus-partials/`` that the final upload completes and reads."""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import timedelta

import pytest

from authentication.models import AuditEvent
from file_upload import storage, uploads
from file_upload.models import File, Project, Upload
from file_upload.tests.factories import ProjectFactory, ProjectMemberFactory, leftover_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("storage_backend")]
TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}
OCTET = "application/offset+octet-stream"
PIECES = [b"@r1\nACGT\n+\nIIII\n", b"@r2\nGGCCA\n+\nIIIII\n", b"@r3\nT\n+\nI\n"]


def meta(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


@pytest.fixture
def project(alice):
    return ProjectFactory(name="P", owner=alice)


def path_of(response) -> str:
    return response["Location"].replace("http://testserver", "")


def partial(client, data: bytes, *, finish: bool = True) -> str:
    created = client.post("/api/uploads/", **TUS, HTTP_UPLOAD_LENGTH=str(len(data)), HTTP_UPLOAD_CONCAT="partial")
    assert created.status_code == 201, created.content
    url = path_of(created)
    if finish:
        sent = client.generic("PATCH", url, data, content_type=OCTET, **TUS, HTTP_UPLOAD_OFFSET="0")
        assert sent.status_code == 204, sent.content
    return url


def final(client, project, urls: list[str], **extra_meta: str):
    return client.post(
        "/api/uploads/",
        **TUS,
        HTTP_UPLOAD_CONCAT="final;" + " ".join(urls),
        HTTP_UPLOAD_METADATA=meta(filename="reads.fastq", project=str(project.id), **extra_meta),
    )


def test_options_advertises_concatenation(anon):
    assert "concatenation" in anon.options("/api/uploads/")["Tus-Extension"].split(",")


def test_partials_never_become_files_and_the_final_joins_them(api, project):
    urls = [partial(api, piece) for piece in PIECES]
    assert not File.objects.exists()
    parts = list(Upload.objects.filter(concat="partial"))
    assert [p.state for p in parts] == ["active"] * 3 and all(p.project_id is None for p in parts)
    head = api.head(urls[0], **TUS)
    assert (head.status_code, head["Upload-Concat"], head["Upload-Offset"]) == (200, "partial", str(len(PIECES[0])))

    # Absolute URLs, as tus-js-client sends them, and paths both name a part.
    response = final(api, project, ["http://testserver" + urls[0], *urls[1:]], organism="Homo sapiens")
    assert response.status_code == 201, response.content
    whole = b"".join(PIECES)
    file = File.objects.get()
    assert (file.name, file.size, file.organism) == ("reads.fastq", len(whole), "Homo sapiens")
    assert file.upload_method == "tus"
    assert file.sha256 == hashlib.sha256(whole).hexdigest()
    assert file.md5 == hashlib.md5(whole).hexdigest()
    assert storage.open_blob(file.storage_key).read() == whole
    # The partials are gone, rows and bytes; only the final upload remains.
    assert list(Upload.objects.values_list("concat", "state")) == [("final", "completed")]
    assert leftover_bytes() == []
    assert api.head(urls[0], **TUS).status_code == 404

    head = api.head(path_of(response), **TUS)
    assert head["Upload-Concat"] == "final;" + " ".join("http://testserver" + u for u in urls)
    assert head["Upload-Offset"] == head["Upload-Length"] == str(len(whole))
    status = api.get(path_of(response) + "status/").json()
    assert (status["state"], status["file"], status["sha256"]) == ("completed", file.id, file.sha256)
    patched = api.generic("PATCH", path_of(response), b"x", content_type=OCTET, **TUS, HTTP_UPLOAD_OFFSET="0")
    assert patched.status_code == 403
    assert AuditEvent.objects.filter(action="upload.concatenate").count() == 1


def test_another_users_partial_answers_like_a_missing_one(api, client_for, bob, project):
    ProjectMemberFactory(project=project, user=bob, role="editor")
    theirs = partial(api, PIECES[0])
    bobs = client_for(bob)
    mine = partial(bobs, PIECES[1])
    hidden = final(bobs, project, [mine, theirs])
    missing = final(bobs, project, [mine, "/api/uploads/00000000-0000-4000-8000-000000000000/"])
    assert hidden.status_code == missing.status_code == 404
    assert not File.objects.exists()
    assert Upload.objects.filter(concat="partial").count() == 2  # nothing was consumed
    assert final(api, project, [theirs]).status_code == 201  # the owner still may


def test_unfinished_or_malformed_parts_are_refused_and_change_nothing(api, project):
    done = partial(api, PIECES[0])
    unfinished = partial(api, PIECES[1], finish=False)
    assert final(api, project, [done, unfinished]).status_code == 400
    assert final(api, project, [done, done]).status_code == 400
    assert final(api, project, ["/somewhere/else/"]).status_code == 400
    assert final(api, project, []).status_code == 400
    with_length = api.post(
        "/api/uploads/",
        **TUS,
        HTTP_UPLOAD_LENGTH="5",
        HTTP_UPLOAD_CONCAT="final;" + done,
        HTTP_UPLOAD_METADATA=meta(filename="x.fastq", project=str(project.id)),
    )
    assert with_length.status_code == 400
    assert api.post("/api/uploads/", **TUS, HTTP_UPLOAD_LENGTH="5", HTTP_UPLOAD_CONCAT="middle").status_code == 400
    assert not File.objects.exists()
    assert Upload.objects.filter(concat="partial", state="active").count() == 2


def test_the_final_checksum_covers_the_whole_file(api, project):
    urls = [partial(api, piece) for piece in PIECES]
    wrong = final(api, project, urls, checksum="sha256:" + "0" * 64)
    assert wrong.status_code == 400
    assert not File.objects.exists()
    assert Upload.objects.filter(concat="partial").count() == 3  # kept: the client may try again
    right = final(api, project, urls, checksum="sha256:" + hashlib.sha256(b"".join(PIECES)).hexdigest())
    assert right.status_code == 201
    assert File.objects.get().sha256 == hashlib.sha256(b"".join(PIECES)).hexdigest()
    assert leftover_bytes() == []


def test_parts_larger_than_a_store_part_and_an_empty_one(api, project):
    """A partial of several multipart parts (more than ``BIOFM_S3_PART_BYTES`` in the object
    store), sent in PATCHes that do not line up with them, an empty partial, and a small one."""
    big = hashlib.sha256(b"big").digest() * (6 * 1024 * 1024 // 32 + 100)
    created = api.post("/api/uploads/", **TUS, HTTP_UPLOAD_LENGTH=str(len(big)), HTTP_UPLOAD_CONCAT="partial")
    url = path_of(created)
    for offset in range(0, len(big), 4 * 1024 * 1024 + 7):
        chunk = big[offset : offset + 4 * 1024 * 1024 + 7]
        response = api.generic("PATCH", url, chunk, content_type=OCTET, **TUS, HTTP_UPLOAD_OFFSET=str(offset))
        assert response.status_code == 204, response.content
    urls = [partial(api, PIECES[0]), url, partial(api, b""), partial(api, PIECES[2])]
    response = final(api, project, urls)
    assert response.status_code == 201, response.content
    whole = PIECES[0] + big + PIECES[2]
    file = File.objects.get()
    assert (file.size, file.sha256) == (len(whole), hashlib.sha256(whole).hexdigest())
    with storage.open_blob(file.storage_key) as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == file.sha256
    assert leftover_bytes() == []


def test_a_final_upload_checks_its_target_like_any_upload(client_for, bob, alice, project):
    bobs = client_for(bob)  # sees alice's internal project, has no role in it
    url = partial(bobs, PIECES[0])
    assert final(bobs, project, [url]).status_code == 403
    assert not File.objects.exists()


def test_a_partial_may_carry_its_first_bytes_and_the_projects_quota_holds(api, project):
    created = api.generic(
        "POST",
        "/api/uploads/",
        PIECES[0],
        content_type=OCTET,
        **TUS,
        HTTP_UPLOAD_LENGTH=str(len(PIECES[0])),
        HTTP_UPLOAD_CONCAT="partial",
    )
    assert created.status_code == 201 and created["Upload-Offset"] == str(len(PIECES[0]))
    urls = [path_of(created), partial(api, PIECES[1])]
    Project.objects.filter(id=project.id).update(quota_bytes=len(PIECES[0]))
    refused = final(api, project, urls)
    assert refused.status_code == 413
    assert not File.objects.exists() and Upload.objects.filter(concat="partial").count() == 2
    Project.objects.filter(id=project.id).update(quota_bytes=None)
    assert final(api, project, urls).status_code == 201
    assert File.objects.get().size == len(PIECES[0]) + len(PIECES[1])


def test_partials_nobody_joins_expire_like_any_upload(api):
    url = partial(api, PIECES[0])
    part = Upload.objects.get()
    Upload.objects.filter(id=part.id).update(expires_at=part.expires_at - timedelta(days=30))
    assert api.head(url, **TUS).status_code == 410
    assert uploads.cleanup_uploads()["uploads"] == 1
    assert not Upload.objects.exists() and leftover_bytes() == []


def test_a_join_cut_short_is_done_again_by_the_finalisation_sweep(api, alice, project, monkeypatch):
    from file_upload import concat

    urls = [partial(api, piece) for piece in PIECES]
    ids = [uuid.UUID(url.rstrip("/").rsplit("/", 1)[1]) for url in urls]
    real_join = concat._join

    def dies(final, parts):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(concat, "_join", dies)
    with pytest.raises(RuntimeError):
        concat.create_final(
            owner=alice, part_ids=ids, raw_metadata="", project=project, folder=None, metadata={"filename": "x.fq"}
        )
    final = Upload.objects.get(concat="final")
    assert final.state == "verifying" and not File.objects.exists()
    monkeypatch.setattr(concat, "_join", real_join)
    uploads.finalise_upload(final.id)  # what the sweep queues
    final.refresh_from_db()
    assert final.state == "completed"
    assert File.objects.get().sha256 == hashlib.sha256(b"".join(PIECES)).hexdigest()
    assert not Upload.objects.filter(concat="partial").exists()
