"""The tus 1.0.0 protocol, status code by status code, through the Django test client.

Creation and PATCH (``TestDiscoveryAndCreation``'s storing tests, ``TestPatch``) run on both
storage backends and look at the bytes received through ``received_bytes``: the part file on the
local disk, the kept tail of the multipart upload in the object store; so do the finalisation
tests that store bytes (``TestFinalisation``). ``TestCleanup`` stays on the local disk: it plants
orphan part files and temporaries in ``UPLOAD_TMP_DIR``, which the object store does not have;
its object-store counterpart (the orphan sweep of multipart uploads, tails and partial uploads'
objects) is in test_tus_store.py."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from authentication.models import AuditEvent
from file_upload import hashstate, services, storage, tus_store, uploads
from file_upload.models import File, Upload
from file_upload.tests.factories import ProjectFactory, ProjectMemberFactory, make_file, make_folder

pytestmark = pytest.mark.django_db
TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}
OCTET = "application/offset+octet-stream"


def b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def meta(**values: str) -> str:
    return ",".join(f"{k} {b64(v)}" for k, v in values.items())


@pytest.fixture
def project(alice):
    return ProjectFactory(name="P", owner=alice)


def create(client, project, length=10, **extra_meta):
    headers = {
        **TUS,
        "HTTP_UPLOAD_LENGTH": str(length),
        "HTTP_UPLOAD_METADATA": meta(**{"filename": "reads.fastq", "project": str(project.id), **extra_meta}),
    }
    return client.post("/api/uploads/", **headers)


def received_bytes(upload: Upload) -> bytes | None:
    """The bytes an unfinished upload holds, None when it holds none any more: its part file
    on the local disk; in the object store its multipart upload's kept tail (the uploads here
    stay below one part), cut to the row's offset as the server reads it."""
    upload.refresh_from_db()
    if not storage.is_s3():
        path = uploads.part_path(upload)
        return path.read_bytes() if path.exists() else None
    client, bucket = storage.s3_client(), storage.s3_bucket()
    tails = client.list_objects_v2(Bucket=bucket, Prefix=f"{tus_store.TAIL_PREFIX}{upload.id}/").get("Contents", [])
    open_uploads = client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    if not tails and not any(m["UploadId"] == upload.store_upload_id for m in open_uploads):
        return None
    assert not upload.store_parts and len(tails) <= 1
    if not tails:
        return b""
    return client.get_object(Bucket=bucket, Key=tails[0]["Key"])["Body"].read()[: upload.offset]


def location(response) -> str:
    return response["Location"].replace("http://testserver", "")


def patch(client, url, data: bytes, offset: int, **headers):
    return client.generic("PATCH", url, data, content_type=OCTET, **TUS, HTTP_UPLOAD_OFFSET=str(offset), **headers)


class TestDiscoveryAndCreation:
    def test_options_advertises_the_server(self, anon):
        response = anon.options("/api/uploads/")
        assert response.status_code == 204
        assert response["Tus-Version"] == "1.0.0"
        assert set(response["Tus-Extension"].split(",")) >= {
            "creation",
            "creation-with-upload",
            "termination",
            "checksum",
            "expiration",
            "creation-defer-length",
        }
        assert response["Tus-Checksum-Algorithm"] == "sha1,md5,sha256"
        assert int(response["Tus-Max-Size"]) > 0
        assert "Tus-Resumable" not in response

    def test_create_then_head(self, api, project):
        response = create(api, project, length=10, tags="a,b")
        assert response.status_code == 201
        assert response["Tus-Resumable"] == "1.0.0"
        assert response["Location"].startswith("http://testserver/api/uploads/")
        assert "GMT" in response["Upload-Expires"]
        head = api.head(location(response), **TUS)
        assert head.status_code == 200
        assert (head["Upload-Offset"], head["Upload-Length"]) == ("0", "10")
        assert head["Cache-Control"] == "no-store"
        assert head["Upload-Metadata"].startswith("filename ")
        upload = Upload.objects.get()
        assert (upload.filename, upload.metadata["tags"], upload.owner.username) == ("reads.fastq", "a,b", "alice")
        assert AuditEvent.objects.filter(action="upload.start").count() == 1

    def test_wrong_or_missing_version_is_412(self, api, project):
        response = api.post("/api/uploads/", HTTP_TUS_RESUMABLE="0.2.2", HTTP_UPLOAD_LENGTH="1")
        assert response.status_code == 412
        assert response["Tus-Version"] == "1.0.0"
        assert api.post("/api/uploads/", HTTP_UPLOAD_LENGTH="1").status_code == 412
        assert not Upload.objects.exists()

    @pytest.mark.parametrize(
        "headers, field",
        [
            ({}, "Upload-Length"),
            ({"HTTP_UPLOAD_LENGTH": "-5"}, "Upload-Length"),
            ({"HTTP_UPLOAD_LENGTH": "5", "HTTP_UPLOAD_DEFER_LENGTH": "1"}, "Upload-Length"),
            ({"HTTP_UPLOAD_DEFER_LENGTH": "2"}, "Upload-Defer-Length"),
            ({"HTTP_UPLOAD_LENGTH": "5", "HTTP_UPLOAD_METADATA": "filename ***"}, "Upload-Metadata"),
            ({"HTTP_UPLOAD_LENGTH": "5", "HTTP_UPLOAD_METADATA": ""}, "project"),
        ],
    )
    def test_bad_creation_headers_are_400(self, api, headers, field):
        response = api.post("/api/uploads/", **TUS, **headers)
        assert response.status_code == 400, response.content
        assert field in response.json()["errors"]
        assert not Upload.objects.exists()

    @pytest.mark.parametrize("filename", ["../../etc/passwd", "a/b", "x" * 300, ""])
    def test_bad_filenames_are_400(self, api, project, filename):
        headers = {
            **TUS,
            "HTTP_UPLOAD_LENGTH": "3",
            "HTTP_UPLOAD_METADATA": meta(filename=filename, project=str(project.id)),
        }
        response = api.post("/api/uploads/", **headers)
        assert response.status_code == 400
        assert "filename" in response.json()["errors"]

    def test_too_large_and_over_quota_are_413(self, api, project, settings):
        settings.BIOFM_MAX_UPLOAD_BYTES = 100
        assert create(api, project, length=101).status_code == 413
        settings.BIOFM_MAX_UPLOAD_BYTES = 10**12
        settings.BIOFM_USER_QUOTA_BYTES = 50
        make_file(project, "old.bin", b"x" * 30)
        response = create(api, project, length=25)
        assert response.status_code == 413 and response.json()["code"] == "quota_exceeded"
        assert create(api, project, length=20).status_code == 201
        assert not Upload.objects.filter(length=25).exists()

    def test_targets_are_checked(self, client_for, bob, make_user, project):
        ProjectMemberFactory(project=project, user=bob, role="viewer")
        assert create(client_for(bob), project).status_code == 403
        secret = make_folder(project, "secret", access_level="restricted")
        outsider = client_for(make_user("mallory"))
        headers = {
            **TUS,
            "HTTP_UPLOAD_LENGTH": "3",
            "HTTP_UPLOAD_METADATA": meta(filename="a", project=str(project.id), folder=str(secret.id)),
        }
        assert outsider.post("/api/uploads/", **headers).status_code == 404
        assert not Upload.objects.exists()

    def test_anonymous_is_401(self, anon, project):
        assert create(anon, project).status_code == 401

    def test_existing_name_is_409(self, api, project):
        make_file(project, "reads.fastq")
        assert create(api, project).status_code == 409

    @pytest.mark.usefixtures("storage_backend")
    def test_creation_with_upload(self, api, project):
        data = b"0123456789"
        headers = {
            **TUS,
            "HTTP_UPLOAD_LENGTH": "10",
            "HTTP_UPLOAD_METADATA": meta(filename="small.txt", project=str(project.id)),
        }
        response = api.generic("POST", "/api/uploads/", data, content_type=OCTET, **headers)
        assert response.status_code == 201
        assert response["Upload-Offset"] == "10"
        file = File.objects.get(name="small.txt")
        assert (file.sha256, file.upload_method) == (hashlib.sha256(data).hexdigest(), "tus")
        with storage.open_blob(file.storage_key) as handle:
            assert handle.read() == data

    @pytest.mark.usefixtures("storage_backend")
    def test_zero_length_upload_is_complete_at_once(self, api, project):
        response = create(api, project, length=0)
        status = api.get(location(response) + "status/").json()
        assert status["state"] == "completed"
        assert File.objects.get(id=status["file"]).size == 0
        assert storage.stat(File.objects.get().storage_key)[0] == 0


@pytest.mark.usefixtures("storage_backend")
class TestPatch:
    @pytest.fixture
    def url(self, api, project):
        return location(create(api, project, length=10, organism="Homo sapiens", checksum=""))

    def test_chunks_then_completion(self, api, url, project):
        first = patch(api, url, b"01234", 0)
        assert first.status_code == 204
        assert first["Upload-Offset"] == "5"
        assert "GMT" in first["Upload-Expires"]
        second = patch(api, url, b"56789", 5)
        assert second["Upload-Offset"] == "10"
        status = api.get(url + "status/").json()
        assert status["state"] == "completed"  # stored by the last PATCH itself
        file = File.objects.get(id=status["file"])
        # The SHA-256 was computed while the bytes arrived; the MD5 follows in the background.
        assert (status["sha256"], status["md5"], status["final_checksums"]) == (file.sha256, "", ["sha256"])
        assert file.sha256 == hashlib.sha256(b"0123456789").hexdigest()
        assert api.get(f"/api/files/{file.id}/").json()["final_checksums"] == ["sha256"]
        services.fill_checksums(file.id)  # the task store_file queued
        status = api.get(url + "status/").json()
        assert (status["md5"], status["final_checksums"]) == (hashlib.md5(b"0123456789").hexdigest(), ["sha256", "md5"])
        assert api.get(f"/api/files/{file.id}/").json()["final_checksums"] == ["sha256", "md5"]
        with storage.open_blob(file.storage_key) as handle:
            assert handle.read() == b"0123456789"
        assert (file.organism, file.project_id, file.upload_method) == ("Homo sapiens", project.id, "tus")
        assert received_bytes(Upload.objects.get()) is None
        assert [
            e for e in AuditEvent.objects.order_by("id").values_list("action", flat=True) if e.startswith("upload.")
        ] == [
            "upload.start",
            "upload.complete",
        ]
        assert AuditEvent.objects.get(action="upload.complete").details["hashed"] == "while receiving"
        # A PATCH on a finished upload changes nothing.
        again = patch(api, url, b"x", 10)
        assert (again.status_code, again["Upload-Offset"]) == (204, "10")

    def test_offset_mismatch_is_409_and_changes_nothing(self, api, url):
        patch(api, url, b"01234", 0)
        response = patch(api, url, b"zzz", 3)
        assert response.status_code == 409
        assert api.head(url, **TUS)["Upload-Offset"] == "5"
        assert received_bytes(Upload.objects.get()) == b"01234"

    def test_wrong_content_type_is_415(self, api, url):
        response = api.generic("PATCH", url, b"abc", content_type="application/json", **TUS, HTTP_UPLOAD_OFFSET="0")
        assert response.status_code == 415

    def test_missing_offset_is_400(self, api, url):
        assert api.generic("PATCH", url, b"abc", content_type=OCTET, **TUS).status_code == 400

    def test_body_past_the_length_is_413(self, api, url):
        assert patch(api, url, b"x" * 11, 0).status_code == 413
        assert api.head(url, **TUS)["Upload-Offset"] == "0"

    @pytest.mark.parametrize("algorithm", ["sha1", "md5", "sha256"])
    def test_checksums(self, api, url, algorithm):
        good = base64.b64encode(hashlib.new(algorithm, b"01234").digest()).decode()
        bad = base64.b64encode(hashlib.new(algorithm, b"other").digest()).decode()
        rejected = patch(api, url, b"01234", 0, HTTP_UPLOAD_CHECKSUM=f"{algorithm} {bad}")
        assert rejected.status_code == 460
        assert api.head(url, **TUS)["Upload-Offset"] == "0"
        assert received_bytes(Upload.objects.get()) == b""
        accepted = patch(api, url, b"01234", 0, HTTP_UPLOAD_CHECKSUM=f"{algorithm} {good}")
        assert (accepted.status_code, accepted["Upload-Offset"]) == (204, "5")

    def test_unsupported_checksum_algorithm_is_400(self, api, url):
        response = patch(api, url, b"01234", 0, HTTP_UPLOAD_CHECKSUM="crc32 AAAAAA==")
        assert response.status_code == 400
        assert api.head(url, **TUS)["Upload-Offset"] == "0"

    def test_whole_file_checksum_from_metadata(self, api, project):
        data = b"ACGTACGTAC"
        good = create(api, project, length=10, checksum=f"sha256:{hashlib.sha256(data).hexdigest()}")
        assert patch(api, location(good), data, 0).status_code == 204
        assert File.objects.filter(sha256=hashlib.sha256(data).hexdigest()).exists()
        Upload.objects.all().delete()
        File.objects.all().update(deleted_at=timezone.now())
        bad = create(api, project, length=10, checksum=f"md5:{'0' * 32}")
        upload = Upload.objects.get(id=location(bad).rstrip("/").rsplit("/", 1)[1])
        # Every byte arrived: the PATCH succeeds; the whole-file check comes after, and the
        # status says it failed and why.
        response = patch(api, location(bad), data, 0)
        assert (response.status_code, response["Upload-Offset"]) == (204, "10")
        status = api.get(location(bad) + "status/").json()
        assert (status["state"], status["file"]) == ("failed", None)
        assert status["error"] == f"md5 of the whole file was {hashlib.md5(data).hexdigest()}, expected {'0' * 32}"
        assert received_bytes(upload) is None
        assert api.head(location(bad), **TUS).status_code == 410
        assert File.objects.alive().count() == 0
        assert AuditEvent.objects.filter(action="upload.failed", object_id=str(upload.id)).exists()

    def test_another_users_upload_is_404(self, client_for, bob, url):
        other = client_for(bob)
        assert other.head(url, **TUS).status_code == 404
        assert patch(other, url, b"0", 0).status_code == 404
        assert other.delete(url, **TUS).status_code == 404
        assert other.get(url + "status/").status_code == 404

    def test_termination_frees_the_bytes_and_the_url_is_gone(self, api, url):
        patch(api, url, b"01234", 0)
        assert received_bytes(Upload.objects.get()) == b"01234"
        response = api.delete(url, **TUS)
        assert response.status_code == 204
        assert received_bytes(Upload.objects.get()) is None
        assert api.head(url, **TUS).status_code == 410
        assert patch(api, url, b"5", 5).status_code == 410

    def test_expired_upload_is_410(self, api, url):
        Upload.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
        assert api.head(url, **TUS).status_code == 410
        assert patch(api, url, b"0", 0).status_code == 410

    def test_a_held_lease_answers_423(self, api, url):
        Upload.objects.update(
            lock_token="00000000-0000-0000-0000-000000000001", locked_until=timezone.now() + timedelta(seconds=60)
        )
        assert patch(api, url, b"01234", 0).status_code == 423
        Upload.objects.update(locked_until=timezone.now() - timedelta(seconds=1))  # a dead worker's lease
        assert patch(api, url, b"01234", 0).status_code == 204

    def test_deferred_length(self, api, project):
        headers = {
            **TUS,
            "HTTP_UPLOAD_DEFER_LENGTH": "1",
            "HTTP_UPLOAD_METADATA": meta(filename="stream.txt", project=str(project.id)),
        }
        url = location(api.post("/api/uploads/", **headers))
        assert api.head(url, **TUS)["Upload-Defer-Length"] == "1"
        patch(api, url, b"abc", 0)
        done = patch(api, url, b"de", 3, HTTP_UPLOAD_LENGTH="5")
        assert done["Upload-Offset"] == "5"
        assert File.objects.get(name="stream.txt").size == 5
        assert patch(api, url, b"", 5, HTTP_UPLOAD_LENGTH="6").status_code in (204, 400)

    def test_method_override(self, api, url):
        response = api.generic(
            "POST",
            url,
            b"01234",
            content_type=OCTET,
            **TUS,
            HTTP_UPLOAD_OFFSET="0",
            HTTP_X_HTTP_METHOD_OVERRIDE="PATCH",
        )
        assert (response.status_code, response["Upload-Offset"]) == (204, "5")

    def test_name_taken_while_uploading_gets_a_free_name(self, api, project, url):
        make_file(project, "reads.fastq")
        patch(api, url, b"0123456789", 0)
        assert File.objects.filter(name="reads (2).fastq", upload_method="tus").exists()


class TestCleanup:
    # Local disk only: orphan part files and temporaries in UPLOAD_TMP_DIR are this backend's;
    # the object store's orphans (multipart uploads, tails, partials) are test_tus_store.py's.
    def test_cleanup_removes_expired_and_terminated_fragments_and_nothing_else(self, api, project, settings):
        import os
        import time

        keep_url = location(create(api, project, length=10))
        patch(api, keep_url, b"01234", 0)
        stale = []
        for i in range(5):
            headers = {
                **TUS,
                "HTTP_UPLOAD_LENGTH": "10",
                "HTTP_UPLOAD_METADATA": meta(filename=f"old{i}.bin", project=str(project.id)),
            }
            response = api.post("/api/uploads/", **headers)
            patch(api, location(response), b"abc", 0)
            stale.append(Upload.objects.get(filename=f"old{i}.bin"))
        Upload.objects.filter(id__in=[u.id for u in stale[:4]]).update(expires_at=timezone.now() - timedelta(hours=1))
        api.delete(f"/api/uploads/{stale[4].id}/", **TUS)
        orphan = uploads.part_dir() / "00000000-dead-beef-0000-000000000000.part"
        orphan.write_bytes(b"left behind by a crash")
        old = time.time() - (settings.BIOFM_UPLOAD_EXPIRY_HOURS + 1) * 3600
        os.utime(orphan, (old, old))
        fresh_temp = uploads.part_dir().parent / "tmpfresh.part"
        fresh_temp.write_bytes(b"an upload in flight")
        stored = make_file(project, "stored.txt", b"precious")

        removed = uploads.cleanup_uploads()

        assert removed == {"uploads": 5, "bytes": 4 * 3 + len(b"left behind by a crash"), "orphans": 1}
        assert list(Upload.objects.values_list("filename", flat=True)) == ["reads.fastq"]
        assert uploads.part_path(Upload.objects.get()).read_bytes() == b"01234"
        assert not orphan.exists()
        assert fresh_temp.exists()
        assert storage.path_for(stored.storage_key).read_bytes() == b"precious"
        assert AuditEvent.objects.filter(action="upload.cleanup").count() == 5
        assert api.head(f"/api/uploads/{stale[0].id}/", **TUS).status_code == 404

    def test_cleanup_command(self, capsys, db):
        from django.core.management import call_command

        call_command("cleanup_uploads")
        assert "Removed 0 uploads" in capsys.readouterr().out


class TestChecksumsAfterUpload:
    def test_md5_is_filled_in_from_the_stored_bytes(self, api, project):
        """A File stored without its MD5 (as tus uploads were before their finalisation
        computed it) gets it from the stored bytes."""
        from file_upload import services

        url = location(create(api, project, length=10))
        patch(api, url, b"0123456789", 0)
        file = File.objects.get(name="reads.fastq")
        File.objects.filter(id=file.id).update(md5="")
        services.fill_checksums(file.id)
        file.refresh_from_db()
        assert file.md5 == hashlib.md5(b"0123456789").hexdigest()
        assert file.sha256 == hashlib.sha256(b"0123456789").hexdigest()

    def test_bytes_that_changed_on_disk_are_reported_not_rehashed(self, api, project):
        from file_upload import services

        url = location(create(api, project, length=10))
        patch(api, url, b"0123456789", 0)
        file = File.objects.get(name="reads.fastq")
        File.objects.filter(id=file.id).update(md5="")
        storage.path_for(file.storage_key).write_bytes(b"corrupted!")
        services.fill_checksums(file.id)
        file.refresh_from_db()
        assert (file.md5, file.sha256) == ("", hashlib.sha256(b"0123456789").hexdigest())
        assert AuditEvent.objects.filter(action="file.integrity_error", object_id=str(file.id)).exists()


@pytest.mark.django_db(transaction=True)
def test_the_lease_is_kept_alive_while_a_slow_body_streams_and_freed_after(api, project, settings):
    """A 1 s lease outlives a 2.4 s PATCH (the heartbeat renews it), so a racing PATCH keeps
    getting 423; the moment the PATCH ends the upload is free."""
    import time

    settings.BIOFM_UPLOAD_LEASE_SECONDS = 1
    create(api, project, length=6)
    upload = Upload.objects.get()
    observed: list[tuple] = []

    class SlowBody:
        parts = [b"ab", b"cd", b"ef"]

        def read(self, size: int) -> bytes:
            time.sleep(0.8)
            row = Upload.objects.get(id=upload.id)
            observed.append((timezone.now(), row.locked_until))
            return self.parts.pop(0) if self.parts else b""

    result = uploads.append_chunk(upload_id=upload.id, owner=upload.owner, offset=0, body=SlowBody(), content_length=6)
    assert result.offset == 6 and result.state == "completed"
    assert len(observed) == 3
    assert all(locked_until is not None and locked_until > now for now, locked_until in observed)
    assert observed[-1][1] > observed[0][1] + timedelta(seconds=1)  # renewed, not just the first lease
    row = Upload.objects.get(id=upload.id)
    assert row.lock_token is None and row.locked_until is None


class TestFinalisation:
    """Without a SHA-256 state, the upload is ``verifying`` after the last byte until a worker
    has hashed and stored it."""

    @pytest.fixture
    def queued(self, monkeypatch):
        """No worker, and no hash state (as where libcrypto lacks its SHA256_* functions): the
        last PATCH leaves the upload ``verifying`` and queues its finalisation (recorded here)."""
        calls: list[str] = []
        monkeypatch.setattr(uploads.finalise, "enqueue_finalise", lambda upload_id: calls.append(str(upload_id)))
        monkeypatch.setattr(hashstate, "available", lambda: False)
        return calls

    @pytest.mark.usefixtures("storage_backend")
    def test_without_a_hash_state_the_last_patch_answers_before_the_file_is_stored(self, api, project, queued):
        url = location(create(api, project, length=10, checksum=f"sha256:{hashlib.sha256(b'0123456789').hexdigest()}"))
        response = patch(api, url, b"0123456789", 0)
        assert (response.status_code, response["Upload-Offset"]) == (204, "10")
        upload = Upload.objects.get()
        assert queued == [str(upload.id)]
        status = api.get(url + "status/").json()
        assert (status["state"], status["offset"], status["file"], status["sha256"]) == ("verifying", 10, None, "")
        assert status["received_at"]
        # The client may repeat its last PATCH (its answer got lost) or HEAD: all is there.
        again = patch(api, url, b"0123456789", 0)
        assert (again.status_code, again["Upload-Offset"]) == (204, "10")
        assert api.head(url, **TUS)["Upload-Offset"] == "10"
        assert api.delete(url, **TUS).status_code == 204  # too late to cancel: nothing changes
        assert received_bytes(upload) == b"0123456789"

        done = uploads.finalise_upload(upload.id)
        assert done.state == "completed"
        status = api.get(url + "status/").json()
        assert status["state"] == "completed"
        assert (status["sha256"], status["md5"]) == (
            hashlib.sha256(b"0123456789").hexdigest(),
            hashlib.md5(b"0123456789").hexdigest(),
        )
        assert uploads.finalise_upload(upload.id).file_id == status["file"]  # a second run does nothing
        assert File.objects.count() == 1

    @pytest.mark.usefixtures("storage_backend")
    def test_a_finalisation_held_by_a_live_worker_is_left_alone(self, api, project, queued):
        url = location(create(api, project, length=3))
        patch(api, url, b"abc", 0)
        upload = Upload.objects.get()
        lease = uploads._try_lease(upload.id)
        try:
            assert uploads.finalise_upload(upload.id).state == "verifying"
        finally:
            uploads._release(lease)
        assert uploads.finalise_upload(upload.id).state == "completed"

    @pytest.mark.usefixtures("storage_backend")
    def test_a_run_that_died_after_moving_the_bytes_is_taken_over(self, api, project, queued, monkeypatch):
        """Local disk: the part file was moved under the key; object store: the multipart upload
        was completed into the object (before ``store_file``, which then died)."""
        url = location(create(api, project, length=5))
        patch(api, url, b"hello", 0)
        upload = Upload.objects.get()

        def die(*args, **kwargs):
            raise KeyboardInterrupt("worker killed")  # not an Exception: nothing may catch it

        real_store = services.store_file

        def move_then_die(**kwargs):
            if kwargs["temp_path"] is not None:  # the object store has nothing left to move
                storage.adopt(kwargs["temp_path"], kwargs["storage_key"])
            die()

        monkeypatch.setattr(services, "store_file", move_then_die)
        with pytest.raises(KeyboardInterrupt):
            uploads.finalise_upload(upload.id)
        upload.refresh_from_db()
        assert upload.state == "verifying" and upload.storage_key
        assert received_bytes(upload) is None
        with storage.open_blob(upload.storage_key) as handle:
            assert handle.read() == b"hello"
        assert not File.objects.exists()

        monkeypatch.setattr(services, "store_file", real_store)
        upload = uploads.finalise_upload(upload.id)
        assert upload.state == "completed"
        file = File.objects.get()
        assert (file.storage_key, file.sha256) == (upload.storage_key, hashlib.sha256(b"hello").hexdigest())
        with storage.open_blob(file.storage_key) as handle:
            assert handle.read() == b"hello"

    def test_the_sweep_requeues_stale_finalisations_only(self, api, project, queued, settings):
        settings.BIOFM_UPLOAD_FINALISE_STALE_SECONDS = 60
        ids = []
        for name in ("stale.bin", "fresh.bin", "held.bin"):
            url = location(create(api, project, length=3, filename=name))
            patch(api, url, b"abc", 0)
            ids.append(url.rstrip("/").rsplit("/", 1)[1])
        queued.clear()
        long_ago = timezone.now() - timedelta(minutes=5)
        Upload.objects.filter(id__in=[ids[0], ids[2]]).update(queued_at=long_ago)
        Upload.objects.filter(id=ids[2]).update(lock_token=ids[2], locked_until=timezone.now() + timedelta(seconds=30))

        assert uploads.requeue_stale_finalisations() == [ids[0]]
        assert queued == [ids[0]]
        assert uploads.requeue_stale_finalisations() == []  # queued again just now

    def test_the_sweep_task_is_scheduled(self, settings):
        from file_upload import tasks

        schedule = settings.CELERY_BEAT_SCHEDULE["sweep-stale-finalisations"]
        assert schedule["task"] == tasks.sweep_stale_finalisations_task.name
        assert tasks.finalise_upload_task.acks_late

    def test_uploads_being_verified_count_against_the_quota(self, api, project, queued, settings):
        settings.BIOFM_USER_QUOTA_BYTES = 15
        url = location(create(api, project, length=10))
        patch(api, url, b"0123456789", 0)
        assert Upload.objects.get().state == "verifying"
        assert create(api, project, length=10, filename="more.bin").status_code == 413

    def test_hash_file_gives_both_digests(self, tmp_path):
        path = tmp_path / "data.bin"
        data = bytes(range(256)) * 40000  # 10 MB: several reads
        path.write_bytes(data)
        digest = uploads.hash_file(path)
        assert (digest.size, digest.sha256, digest.md5) == (
            len(data),
            hashlib.sha256(data).hexdigest(),
            hashlib.md5(data).hexdigest(),
        )
