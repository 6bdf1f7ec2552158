from __future__ import annotations

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from file_upload import storage
from file_upload.models import File
from file_upload.tests.factories import (
    ProjectFactory,
    ProjectMemberFactory,
    blob_bytes,
    make_file,
    make_folder,
    stored_keys,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("storage_backend")]

FASTQ = b"@r1\nACGTNACGTA\n+\nIIIIIIIIII\n@r2\nGGCC\n+\n####\n"


@pytest.fixture
def project(alice):
    return ProjectFactory(name="Atlas", owner=alice)


def upload(client, project, content=FASTQ, filename="sample_R1.fastq", **fields):
    data = {
        "file": SimpleUploadedFile(filename, content, content_type="application/octet-stream"),
        "project": project.id,
        **fields,
    }
    return client.post("/api/files/", data, format="multipart")


def stored_blobs(data_dirs) -> list[str]:
    return stored_keys()


class TestUpload:
    def test_upload_with_metadata_and_tags(self, api, project, data_dirs):
        folder = make_folder(project, "raw")
        response = upload(
            api,
            project,
            folder=folder.id,
            organism="Homo sapiens",
            assay_type="RNA-seq",
            taxon_id="9606",
            tags="liver, batch-2,liver",
            description="first run",
        )
        assert response.status_code == 201, response.json()
        body = response.json()
        assert body["name"] == "sample_R1.fastq"
        assert body["size"] == len(FASTQ)
        assert body["sha256"] == hashlib.sha256(FASTQ).hexdigest()
        assert body["md5"] == hashlib.md5(FASTQ).hexdigest()
        assert (body["organism"], body["assay_type"], body["taxon_id"]) == ("Homo sapiens", "RNA-seq", 9606)
        assert body["tags"] == ["liver", "batch-2"]
        assert body["folder"] == folder.id
        assert body["owner"] == "alice"
        assert body["parse_status"] == "pending"
        assert body["effective_access_level"] == "internal"
        file = File.objects.get(id=body["id"])
        assert blob_bytes(file.storage_key) == FASTQ
        # The upload was moved out of the temporary directory, not copied.
        assert list((data_dirs / "tmp").iterdir()) == []

    def test_upload_queues_format_detection_after_commit(
        self, api, project, monkeypatch, django_capture_on_commit_callbacks
    ):
        from file_upload import tasks

        queued = []
        monkeypatch.setattr(tasks.parse_file_task, "delay", lambda file_id: queued.append(file_id))
        with django_capture_on_commit_callbacks(execute=True):
            response = upload(api, project)
        assert queued == [response.json()["id"]]

    def test_explicit_name_overrides_filename(self, api, project):
        response = upload(api, project, filename="x.bin", name="renamed.fastq")
        assert response.status_code == 201
        assert response.json()["name"] == "renamed.fastq"

    @pytest.mark.parametrize(
        "fields, bad_field",
        [
            ({"assay_type": "RNAseq-ish"}, "assay_type"),
            ({"sex": "yes"}, "sex"),
            ({"library_layout": "triple"}, "library_layout"),
            ({"taxon_id": "human"}, "taxon_id"),
            ({"sequencing_date": "yesterday"}, "sequencing_date"),
            ({"bioproject_accession": "PRJ123"}, "bioproject_accession"),
            ({"name": "../../etc/passwd"}, "name"),
            ({"name": "a" * 300}, "name"),
            ({"organism": "x" * 300}, "organism"),
            ({"tags": "t" * 65}, "tags"),
        ],
    )
    def test_bad_input_is_400_and_stores_nothing(self, api, project, data_dirs, fields, bad_field):
        response = upload(api, project, **fields)
        assert response.status_code == 400, response.json()
        body = response.json()
        assert bad_field in body["errors"]
        assert body["code"]
        assert File.objects.count() == 0
        assert stored_blobs(data_dirs) == []

    def test_missing_project_is_400(self, api, data_dirs):
        response = api.post("/api/files/", {"file": SimpleUploadedFile("a.txt", b"x")}, format="multipart")
        assert response.status_code == 400
        assert "project" in response.json()["errors"]
        assert stored_blobs(data_dirs) == []

    def test_missing_file_is_400(self, api, project):
        response = api.post("/api/files/", {"project": project.id}, format="multipart")
        assert response.status_code == 400
        assert "file" in response.json()["errors"]

    def test_folder_without_project_uploads_into_the_folders_project(self, api, alice, project):
        ProjectFactory(name="Decoy", owner=alice)
        folder = make_folder(project, "raw")
        data = {"file": SimpleUploadedFile("reads.fastq", FASTQ), "folder": folder.id}
        response = api.post("/api/files/", data, format="multipart")
        assert response.status_code == 201, response.json()
        stored = File.objects.get(id=response.json()["id"])
        assert (stored.project_id, stored.folder_id) == (project.id, folder.id)

    def test_folder_of_another_project_is_400(self, api, alice, project):
        other = ProjectFactory(name="Other", owner=alice)
        response = upload(api, project, folder=make_folder(other, "x").id)
        assert response.status_code == 400
        assert "folder" in response.json()["errors"]

    def test_oversized_upload_is_413(self, api, project, settings, data_dirs):
        settings.BIOFM_MAX_UPLOAD_BYTES = 10
        response = upload(api, project, content=b"x" * 100)
        assert response.status_code == 413
        assert response.json()["code"] == "too_large"
        assert File.objects.count() == 0
        assert stored_blobs(data_dirs) == []

    def test_same_name_in_same_folder_is_409_and_keeps_the_original(self, api, project, data_dirs):
        first = upload(api, project).json()
        response = upload(api, project, content=b"other bytes")
        assert response.status_code == 409
        assert File.objects.count() == 1
        original = File.objects.get(id=first["id"])
        assert blob_bytes(original.storage_key) == FASTQ
        assert len(stored_blobs(data_dirs)) == 1

    def test_viewer_cannot_upload_and_stranger_sees_404(self, client_for, bob, make_user, project, data_dirs):
        ProjectMemberFactory(project=project, user=bob, role="viewer")
        assert upload(client_for(bob), project).status_code == 403
        project.access_level = "restricted"
        project.save()
        assert upload(client_for(make_user("mallory")), project).status_code == 404
        assert stored_blobs(data_dirs) == []

    def test_editor_can_upload(self, client_for, bob, project):
        ProjectMemberFactory(project=project, user=bob, role="editor")
        response = upload(client_for(bob), project)
        assert response.status_code == 201
        assert response.json()["owner"] == "bob"

    def test_anonymous_upload_is_401(self, anon, project):
        assert upload(anon, project).status_code == 401

    def test_token_upload_is_marked_api(self, alice, project):
        from rest_framework.test import APIClient

        from authentication.services import issue_token

        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(alice)}")
        assert upload(client, project).json()["upload_method"] == "api"


class TestFileMetadata:
    def test_a_file_looked_up_by_id_ignores_the_list_filters(self, api, alice, client_for, make_user):
        project = ProjectFactory(name="Restricted", owner=alice, access_level="restricted")
        file = make_file(project, organism="Homo sapiens")
        assert api.get(f"/api/files/{file.id}/?organism=Mus+musculus").json()["id"] == file.id
        stranger = client_for(make_user("mallory"))
        assert stranger.get(f"/api/files/{file.id}/").status_code == 404  # visibility still applies

    def test_patch_metadata_and_tags(self, api, project):
        file = make_file(project)
        response = api.patch(
            f"/api/files/{file.id}/",
            {
                "organism": "Mus musculus",
                "assay_type": "scRNA-seq",
                "read_length": 150,
                "tags": ["a", "b"],
                "sequencing_date": "2024-03-01",
            },
        )
        assert response.status_code == 200, response.json()
        file.refresh_from_db()
        assert (file.organism, file.assay_type, file.read_length, file.tags) == (
            "Mus musculus",
            "scRNA-seq",
            150,
            ["a", "b"],
        )
        assert str(file.sequencing_date) == "2024-03-01"

    def test_bad_vocabulary_changes_nothing(self, api, project):
        file = make_file(project, organism="Homo sapiens")
        response = api.patch(f"/api/files/{file.id}/", {"organism": "Mus musculus", "platform": "Nanopore!"})
        assert response.status_code == 400
        assert list(response.json()["errors"]) == ["platform"]
        file.refresh_from_db()
        assert file.organism == "Homo sapiens"

    def test_read_only_fields_are_ignored(self, api, project):
        file = make_file(project)
        api.patch(f"/api/files/{file.id}/", {"sha256": "0" * 64, "size": 1, "owner": "bob"})
        file.refresh_from_db()
        assert file.sha256 == hashlib.sha256(b"@r1\nACGT\n+\nIIII\n").hexdigest()
        assert file.size == 16

    def test_rename_validates_name(self, api, project):
        file = make_file(project)
        assert api.patch(f"/api/files/{file.id}/", {"name": "../x"}).status_code == 400
        assert api.patch(f"/api/files/{file.id}/", {"name": "ok.fastq"}).status_code == 200

    def test_viewer_cannot_edit(self, client_for, bob, project):
        ProjectMemberFactory(project=project, user=bob, role="viewer")
        file = make_file(project)
        assert client_for(bob).patch(f"/api/files/{file.id}/", {"organism": "x"}).status_code == 403

    def test_editor_cannot_change_level_but_owner_can(self, client_for, api, bob, project):
        ProjectMemberFactory(project=project, user=bob, role="editor")
        file = make_file(project)
        assert client_for(bob).patch(f"/api/files/{file.id}/", {"access_level": "public"}).status_code == 403
        assert (
            api.patch(f"/api/files/{file.id}/", {"access_level": "public"}).json()["effective_access_level"] == "public"
        )

    def test_soft_delete_hides_but_keeps_bytes(self, api, project):
        file = make_file(project)
        assert api.delete(f"/api/files/{file.id}/").status_code == 204
        assert api.get(f"/api/files/{file.id}/").status_code == 404
        assert api.get(f"/api/files/{file.id}/download/").status_code == 404
        file.refresh_from_db()
        assert file.deleted_at is not None
        assert storage.exists(file.storage_key)
        # The name is free again for a new upload.
        assert make_file(project).id != file.id

    def test_editor_deletes_own_not_others(self, client_for, bob, project):
        ProjectMemberFactory(project=project, user=bob, role="editor")
        mine = make_file(project, "mine.txt", owner=bob)
        theirs = make_file(project, "theirs.txt")
        assert client_for(bob).delete(f"/api/files/{theirs.id}/").status_code == 403
        assert client_for(bob).delete(f"/api/files/{mine.id}/").status_code == 204

    def test_metadata_fields_endpoint_describes_22_fields(self, anon):
        body = anon.get("/api/metadata/fields/").json()
        fields = body["fields"]
        assert len(fields) == 22
        assert sum(f["group"] == "biological" for f in fields) == 10
        assay = next(f for f in fields if f["name"] == "assay_type")
        assert assay["label"] == "Assay type" and "scRNA-seq" in assay["choices"]


class TestFileList:
    def test_filters(self, api, project):
        raw = make_folder(project, "raw")
        make_file(project, "root.txt", organism="Homo sapiens", assay_type="WGS", tags=["x"])
        make_file(project, "in_raw.fastq", folder=raw, organism="Mus musculus", assay_type="RNA-seq", tags=["x", "y"])

        def names(query: str) -> list[str]:
            response = api.get(f"/api/files/?project={project.id}&{query}")
            assert response.status_code == 200, response.json()
            return [f["name"] for f in response.json()["results"]]

        assert names("folder=null") == ["root.txt"]
        assert names(f"folder={raw.id}") == ["in_raw.fastq"]
        assert names("organism=Mus musculus") == ["in_raw.fastq"]
        assert names("assay_type=WGS") == ["root.txt"]
        assert names("tags=x,y") == ["in_raw.fastq"]
        assert names("q=ROOT") == ["root.txt"]
        assert names("ordering=-name") == ["root.txt", "in_raw.fastq"]

    def test_bad_filter_values_are_400(self, api, project):
        assert api.get("/api/files/?folder=abc").status_code == 400
        assert api.get("/api/files/?assay_type=nope").status_code == 400

    def test_pagination(self, api, project):
        for i in range(5):
            make_file(project, f"f{i}.txt")
        page = api.get("/api/files/?page_size=2&page=2").json()
        assert page["count"] == 5
        assert [f["name"] for f in page["results"]] == ["f2.txt", "f3.txt"]
        assert page["next"] and page["previous"]
        assert api.get("/api/files/?page=99").status_code == 404

    def test_listing_only_shows_visible_files(self, client_for, anon, alice, make_user, project):
        secret = ProjectFactory(name="S", owner=alice, access_level="restricted")
        public = ProjectFactory(name="Pub", owner=alice, access_level="public")
        make_file(secret, "secret.txt")
        make_file(project, "internal.txt")
        make_file(public, "public.txt")
        stranger = client_for(make_user("mallory"))
        assert sorted(f["name"] for f in stranger.get("/api/files/").json()["results"]) == [
            "internal.txt",
            "public.txt",
        ]
        assert [f["name"] for f in anon.get("/api/files/").json()["results"]] == ["public.txt"]


def test_file_representation_matches_drf_field_by_field(project, alice):
    """The serializer reads plain model fields directly; the output equals DRF's own, its
    moments in the current time zone too."""
    from django.utils import timezone
    from rest_framework import serializers as drf

    from file_upload.serializers import FileSerializer

    full = make_file(
        project,
        "full.fastq",
        tags=["a", "b"],
        organism="Homo sapiens",
        read_length=150,
        sequencing_date="2026-01-02",
        description="d",
    )
    full.stats = {"reads": 3, "per_position": [1.5, 2.0]}
    full.save()
    bare = make_file(project, "bare.txt")
    files = File.objects.filter(id__in=[full.id, bare.id]).select_related("owner", "project", "folder")
    for zone in ("UTC", "Europe/Berlin", "America/St_Johns"):  # moments in the current time zone
        with timezone.override(zone):
            for file in files:
                serializer = FileSerializer(context={})
                fast = serializer._represent(file)
                assert "fields" not in serializer.__dict__  # rendered without building this instance's fields
                assert fast == drf.ModelSerializer.to_representation(serializer, file)
                assert fast["created_at"].endswith("Z") == (zone == "UTC")
    data = FileSerializer(File.objects.get(id=full.id)).data
    assert data["owner"] == "alice" and data["project"] == project.id and data["folder"] is None
    assert data["sequencing_date"] == "2026-01-02" and data["read_length"] == 150 and data["tags"] == ["a", "b"]


def test_only_fields_that_render_a_value_alone_are_shared_between_requests():
    from rest_framework import serializers as drf

    from access.viewsets import RestrictedPrimaryKeyRelatedField
    from file_upload.serializers import _context_free

    class Personal(drf.CharField):
        def to_representation(self, value):
            return f"{self.context['request'].user}: {value}"

    assert _context_free(drf.CharField()) and _context_free(drf.ListField(child=drf.CharField()))
    assert not _context_free(Personal())
    assert not _context_free(drf.ListField(child=Personal()))
    assert not _context_free(drf.SlugRelatedField(slug_field="username", read_only=True))
    assert _context_free(RestrictedPrimaryKeyRelatedField(read_only=True))  # restricts ids it resolves only
