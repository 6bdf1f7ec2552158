"""The file-manager verbs of the API: name conflicts decided up front (multipart and tus),
moves, the caller's permissions on every object, index sidecars and zip archives."""

from __future__ import annotations

import base64
import hashlib
import io
import subprocess
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from file_upload import services
from file_upload.models import File, ProjectMember
from file_upload.tests.factories import ProjectFactory, ProjectMemberFactory, make_file, make_folder

pytestmark = pytest.mark.django_db
TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}


@pytest.fixture
def project(alice):
    return ProjectFactory(name="Atlas", owner=alice)


def multipart(client, project, name, content, **fields):
    data = {"file": SimpleUploadedFile(name, content), "project": project.id, **fields}
    return client.post("/api/files/", data, format="multipart")


def tus_upload(client, project, name, content, **meta):
    values = {"filename": name, "project": str(project.id), **meta}
    header = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())
    created = client.post("/api/uploads/", **TUS, HTTP_UPLOAD_LENGTH=str(len(content)), HTTP_UPLOAD_METADATA=header)
    if created.status_code != 201:
        return created
    url = created["Location"].replace("http://testserver", "")
    return client.generic(
        "PATCH", url, content, content_type="application/offset+octet-stream", **TUS, HTTP_UPLOAD_OFFSET="0"
    )


def live_names(project):
    return sorted(File.objects.alive().filter(project=project).values_list("name", flat=True))


class TestConflicts:
    def test_multipart_refuses_by_default_then_keeps_both_or_replaces(self, api, project):
        assert multipart(api, project, "a.fastq", b"one").status_code == 201
        refused = multipart(api, project, "a.fastq", b"two")
        assert refused.status_code == 409 and refused.json()["code"] == "name_conflict"
        kept = multipart(api, project, "a.fastq", b"three", on_conflict="keep_both")
        assert kept.status_code == 201 and kept.json()["name"] == "a (2).fastq"
        old = File.objects.alive().get(project=project, name="a.fastq")
        replaced = multipart(api, project, "a.fastq", b"four", on_conflict="replace")
        assert replaced.status_code == 201, replaced.json()
        assert live_names(project) == ["a (2).fastq", "a.fastq"]
        assert File.objects.alive().get(name="a.fastq").sha256 == hashlib.sha256(b"four").hexdigest()
        old.refresh_from_db()
        assert old.deleted_at is not None  # in the trash, restorable
        bad = multipart(api, project, "a.fastq", b"five", on_conflict="overwrite")
        assert bad.status_code == 400 and "on_conflict" in bad.json()["errors"]

    def test_tus_refuses_at_creation_and_keeps_both_or_replaces(self, api, project):
        assert tus_upload(api, project, "r.fastq", b"first").status_code == 204
        refused = tus_upload(api, project, "r.fastq", b"second")
        assert refused.status_code == 409  # before any byte is sent
        assert tus_upload(api, project, "r.fastq", b"third", on_conflict="keep_both").status_code == 204
        assert tus_upload(api, project, "r.fastq", b"fourth", on_conflict="replace").status_code == 204
        assert live_names(project) == ["r (2).fastq", "r.fastq"]
        assert File.objects.alive().get(name="r.fastq").sha256 == hashlib.sha256(b"fourth").hexdigest()
        assert File.objects.alive().get(name="r (2).fastq").sha256 == hashlib.sha256(b"third").hexdigest()
        assert File.objects.filter(project=project, deleted_at__isnull=False).count() == 1

    def test_replace_needs_the_right_to_delete_the_old_file(self, api, project, bob):
        from rest_framework.test import APIClient

        ProjectMemberFactory(project=project, user=bob, role="editor")
        make_file(project, "mine.fastq")  # owned by alice
        client = APIClient()
        client.force_authenticate(bob)
        for response in (
            multipart(client, project, "mine.fastq", b"x", on_conflict="replace"),
            tus_upload(client, project, "mine.fastq", b"x", on_conflict="replace"),
        ):
            assert response.status_code == 403
            assert "may not replace" in response.json()["detail"]
        assert live_names(project) == ["mine.fastq"]

    def test_conflict_check_lists_taken_names(self, api, project):
        folder = make_folder(project, "raw")
        make_file(project, "x.fastq", folder=folder)
        response = api.post(
            "/api/files/conflicts/",
            {"project": project.id, "folder": folder.id, "names": ["x.fastq", "y.fastq"]},
            format="json",
        )
        assert response.status_code == 200
        assert [c["name"] for c in response.json()["conflicts"]] == ["x.fastq"]
        assert response.json()["conflicts"][0]["can_replace"] is True


class TestMove:
    def test_move_into_a_folder_and_back_to_the_root(self, api, project):
        folder = make_folder(project, "raw")
        file = make_file(project, "m.fastq")
        moved = api.post(f"/api/files/{file.id}/move/", {"folder": folder.id}, format="json")
        assert moved.status_code == 200 and moved.json()["folder"] == folder.id
        back = api.post(f"/api/files/{file.id}/move/", {"folder": None, "project": project.id}, format="json")
        assert back.status_code == 200 and back.json()["folder"] is None

    def test_a_taken_name_is_refused_or_kept_beside(self, api, project):
        folder = make_folder(project, "raw")
        make_file(project, "m.fastq", folder=folder)
        file = make_file(project, "m.fastq")
        refused = api.post(f"/api/files/{file.id}/move/", {"folder": folder.id}, format="json")
        assert refused.status_code == 409
        kept = api.post(f"/api/files/{file.id}/move/", {"folder": folder.id, "on_conflict": "keep_both"}, format="json")
        assert kept.json()["name"] == "m (2).fastq"

    def test_a_viewer_may_not_move_and_a_target_without_upload_right_is_refused(self, project, bob, make_user):
        from rest_framework.test import APIClient

        other = ProjectFactory(name="Other", owner=make_user("carol"), access_level="internal")
        ProjectMemberFactory(project=project, user=bob, role="viewer")
        file = make_file(project, "v.fastq")
        client = APIClient()
        client.force_authenticate(bob)
        assert client.post(f"/api/files/{file.id}/move/", {"folder": None, "project": project.id}).status_code == 403
        ProjectMember.objects.filter(user=bob).update(role="editor")
        response = client.post(f"/api/files/{file.id}/move/", {"folder": None, "project": other.id}, format="json")
        assert response.status_code == 403
        file.refresh_from_db()
        assert file.project_id == project.id

    def test_move_to_another_project_takes_its_level(self, api, project, alice):
        public = ProjectFactory(name="Open", owner=alice, access_level="public")
        file = make_file(project, "p.fastq")
        response = api.post(f"/api/files/{file.id}/move/", {"folder": None, "project": public.id}, format="json")
        assert response.status_code == 200
        assert (response.json()["project"], response.json()["effective_access_level"]) == (public.id, "public")


class TestMyPermissions:
    def test_owner_viewer_and_anonymous(self, api, project, bob, anon):
        from rest_framework.test import APIClient

        file = make_file(project, "p.fastq")
        assert api.get(f"/api/files/{file.id}/").json()["my_permissions"] == [
            "view",
            "download",
            "upload",
            "edit",
            "delete",
            "manage",
        ]
        ProjectMemberFactory(project=project, user=bob, role="viewer")
        client = APIClient()
        client.force_authenticate(bob)
        assert client.get(f"/api/files/{file.id}/").json()["my_permissions"] == ["view", "download"]
        assert client.get(f"/api/projects/{project.id}/").json()["my_permissions"] == ["view", "download"]
        listed = client.get(f"/api/files/?project={project.id}").json()["results"]
        assert listed[0]["my_permissions"] == ["view", "download"]
        assert anon.get(f"/api/files/{file.id}/").status_code in (401, 403, 404)
        project.access_level = "public"
        project.save()
        services.refresh_effective_levels(project)
        assert anon.get(f"/api/files/{file.id}/").json()["my_permissions"] == ["view", "download"]
        folder = make_folder(project, "raw")
        assert anon.get(f"/api/folders/{folder.id}/").json()["my_permissions"] == ["view", "download"]

    def test_a_listing_gives_every_file_the_permissions_its_detail_gives(self, project, alice, bob):
        """A page works permissions out once per folder (and owner); a file's own grant, its
        owner and its folder still count, as on the file's own page."""
        from rest_framework.test import APIClient

        from authentication.models import AccessGrant

        ProjectMemberFactory(project=project, user=bob, role="editor")
        raw, shared = make_folder(project, "raw"), make_folder(project, "shared")
        files = [
            make_file(project, "a.fastq", folder=raw, owner=bob),
            make_file(project, "b.fastq", folder=raw, owner=alice),
            make_file(project, "c.fastq", folder=shared, owner=alice),
            make_file(project, "d.fastq", folder=shared, owner=alice),
            make_file(project, "e.fastq", owner=bob),
            make_file(project, "f.fastq", owner=alice),
        ]
        AccessGrant.objects.create(
            subject_user=bob, object_type="folder", project=project, folder=shared, permission="manage"
        )
        AccessGrant.objects.create(
            subject_user=bob, object_type="file", project=project, file=files[1], permission="manage"
        )
        client = APIClient()
        client.force_authenticate(bob)
        rows = client.get("/api/files/?page_size=50").json()["results"]
        listed = {row["name"]: row["my_permissions"] for row in rows}
        detail = {f.name: client.get(f"/api/files/{f.id}/").json()["my_permissions"] for f in files}
        assert listed == detail
        editor = ["view", "download", "upload", "edit"]
        assert detail["a.fastq"] == [*editor, "delete"]  # an editor may delete their own file
        assert detail["b.fastq"] == [*editor, "delete", "manage"]  # the file's own grant
        assert detail["c.fastq"] == detail["d.fastq"] == [*editor, "delete", "manage"]  # the folder's grant
        assert (detail["e.fastq"], detail["f.fastq"]) == ([*editor, "delete"], editor)
        # Without any grant the role alone decides, in every folder alike.
        AccessGrant.objects.filter(subject_user=bob).delete()
        rows = client.get("/api/files/?page_size=50").json()["results"]
        listed = {row["name"]: row["my_permissions"] for row in rows}
        detail = {f.name: client.get(f"/api/files/{f.id}/").json()["my_permissions"] for f in files}
        assert listed == detail
        assert listed["b.fastq"] == listed["f.fastq"] == editor
        assert listed["a.fastq"] == listed["e.fastq"] == [*editor, "delete"]


@pytest.mark.usefixtures("storage_backend")
class TestSidecars:
    @pytest.mark.parametrize("index_first", [True, False])
    def test_index_pairs_whichever_arrives_first(self, api, project, index_first):
        folder = make_folder(project, "aln")
        order = [("x.bam.bai", b"BAI\x01"), ("x.bam", b"BAM\x01")]
        if not index_first:
            order.reverse()
        for name, content in order:
            make_file(project, name, content, folder=folder)
        data = File.objects.get(name="x.bam")
        index = File.objects.get(name="x.bam.bai")
        assert index.index_of_id == data.id
        body = api.get(f"/api/files/{data.id}/").json()
        assert body["index_files"] == [{"id": index.id, "name": "x.bam.bai", "size": 4}]
        from file_download.services import index_key

        assert index_key(data, reader=project.owner) == index.storage_key

    def test_short_names_and_other_kinds_pair(self, project):
        for data_name, index_name in [("s.bam", "s.bai"), ("c.cram", "c.crai"), ("v.vcf.gz", "v.vcf.gz.tbi")]:
            make_file(project, index_name, b"i")
            data = make_file(project, data_name, b"d")
            assert File.objects.get(name=index_name).index_of_id == data.id
        lonely = make_file(project, "alone.bai", b"i")
        assert lonely.index_of_id is None

    def test_index_is_deleted_moved_and_restored_with_its_data_file(self, api, project):
        folder = make_folder(project, "aln")
        data = make_file(project, "y.bam", b"BAM")
        index = make_file(project, "y.bam.bai", b"BAI")
        assert api.post(f"/api/files/{data.id}/move/", {"folder": folder.id}, format="json").status_code == 200
        index.refresh_from_db()
        assert index.folder_id == folder.id
        assert api.delete(f"/api/files/{data.id}/").status_code == 204
        index.refresh_from_db()
        assert index.deleted_at is not None
        assert api.post(f"/api/files/{data.id}/restore/").status_code == 200
        index.refresh_from_db()
        assert index.deleted_at is None

    def test_the_index_step_adopts_an_uploaded_index(self, project, tmp_path, monkeypatch):
        pysam = pytest.importorskip("pysam")
        from file_upload.tests.test_parsers import make_bam

        bam = make_bam(tmp_path / "z.bam")
        pysam.index(str(bam))
        uploaded_bai = (tmp_path / "z.bam.bai").read_bytes()
        monkeypatch.setattr(services.queueing, "enqueue_index", lambda file_id: None)
        monkeypatch.setattr(services.queueing, "enqueue_parse", lambda file_id: None)
        built = []
        monkeypatch.setattr("file_upload.parsers.bam._build_index", lambda *a: built.append(a))
        data = make_file(project, "z.bam", bam.read_bytes())
        services.parse_file(data.id)
        index = make_file(project, "z.bam.bai", uploaded_bai)
        result = services.index_file(data.id)
        assert built == []
        assert (result.stats["indexed"], result.stats["index_source"], result.stats["index_file"]) == (
            True,
            "uploaded",
            index.id,
        )


@pytest.mark.usefixtures("storage_backend")
class TestZip:
    def test_folder_zip_holds_the_visible_files_with_their_paths(self, api, project, tmp_path):
        raw = make_folder(project, "raw")
        run = make_folder(project, "run1", parent=raw)
        files = {
            "raw/a.fastq": make_file(project, "a.fastq", b"A" * 5000, folder=raw),
            "raw/run1/b.fastq.gz": make_file(project, "b.fastq.gz", b"B" * 100, folder=run),
        }
        make_file(project, "outside.txt", b"o")
        response = api.get(f"/api/zip/?folders={raw.id}")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/zip"
        assert 'filename="raw.zip"' in response["Content-Disposition"]
        body = b"".join(response.streaming_content)
        archive = tmp_path / "raw.zip"
        archive.write_bytes(body)
        assert subprocess.run(["unzip", "-tq", str(archive)], capture_output=True).returncode == 0
        with zipfile.ZipFile(io.BytesIO(body)) as zf:
            assert sorted(zf.namelist()) == sorted(files)
            for path, file in files.items():
                assert hashlib.sha256(zf.read(path)).hexdigest() == file.sha256

    def test_selection_leaves_out_what_the_caller_cannot_see(self, project, bob, make_user):
        from rest_framework.test import APIClient

        hidden = ProjectFactory(name="Hidden", owner=make_user("carol"), access_level="restricted")
        mine = make_file(project, "m.txt", b"m")
        secret = make_file(hidden, "s.txt", b"s")
        client = APIClient()
        client.force_authenticate(bob)
        response = client.get(f"/api/zip/?files={mine.id},{secret.id}")
        with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as zf:
            assert zf.namelist() == ["m.txt"]
        assert client.get(f"/api/zip/?files={secret.id}").status_code == 404
        assert client.get("/api/zip/?files=abc").status_code == 400
        assert client.get("/api/zip/").status_code == 400
