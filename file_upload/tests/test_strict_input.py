"""Hostile input answers a 400 JSON naming the field and changes nothing: tus metadata checked
at creation, filters parsed strictly, JSON depth bounded, signed tokens of the wrong shape."""

from __future__ import annotations

import pytest
from django.core import signing
from rest_framework.test import APIClient

from file_download.services import SIGNING_SALT
from file_upload import uploads
from file_upload.models import File, Project, Upload, UploadState
from file_upload.tests.factories import ProjectFactory, make_file, make_folder
from file_upload.tests.test_tus_protocol import create, location, patch

pytestmark = pytest.mark.django_db
BIG = str(2**70)


@pytest.fixture
def project(alice):
    return ProjectFactory(name="P", owner=alice)


class TestTusMetadataAtCreation:
    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("taxon_id", "abc"),
            ("taxon_id", BIG),
            ("read_length", "-5"),
            ("assay_type", "Bogus"),
            ("sequencing_date", "2020-02-30"),
            ("sequencing_date", "yesterday"),
            ("tags", "x" * 65),
        ],
    )
    def test_bad_metadata_is_refused_before_any_byte(self, api, project, field, value):
        response = create(api, project, **{field: value})
        assert response.status_code == 400, response.content
        body = response.json()
        assert body["code"] != "server_error" and field in body["errors"], body
        assert not Upload.objects.exists()

    def test_a_nul_in_any_metadata_value_is_refused(self, api, project):
        response = create(api, project, anything="a\x00b")
        assert response.status_code == 400 and "Upload-Metadata" in response.json()["errors"]
        assert not Upload.objects.exists()

    def test_the_same_messages_as_the_multipart_upload(self, api, project):
        from django.core.files.uploadedfile import SimpleUploadedFile

        tus = create(api, project, assay_type="Bogus", taxon_id="abc").json()["errors"]
        body = {"file": SimpleUploadedFile("a.txt", b"x"), "project": project.id}
        body |= {"assay_type": "Bogus", "taxon_id": "abc"}
        multipart = api.post("/api/files/", body, format="multipart").json()["errors"]
        assert tus == multipart

    def test_good_metadata_is_stored_in_canonical_form(self, api, project):
        data = b"@r1\nACGT\n+\nIIII\n"
        url = location(
            create(api, project, length=len(data), taxon_id=" 9606", sequencing_date="2020-2-3", assay_type="WGS")
        )
        assert patch(api, url, data, 0).status_code == 204
        file = File.objects.get()
        assert (file.taxon_id, file.sequencing_date.isoformat(), file.assay_type) == (9606, "2020-02-03", "WGS")

    def test_an_upload_created_before_the_check_fails_instead_of_verifying_forever(self, alice, project):
        upload = Upload.objects.create(
            owner=alice,
            project=project,
            filename="old.txt",
            length=0,
            offset=0,
            metadata={"filename": "old.txt", "taxon_id": "abc"},
            state=UploadState.VERIFYING,
            expires_at="2100-01-01T00:00:00Z",
        )
        uploads.part_path(upload).touch()
        uploads.finalise_upload(upload.id)
        upload.refresh_from_db()
        assert upload.state == UploadState.FAILED and "taxon_id" in upload.error
        assert not File.objects.exists()


class TestStrictFilters:
    @pytest.mark.parametrize(
        "query",
        [
            "created_after=2020-13-45",
            "created_before=2020-02-30",
            "updated_after=2020-02-30T10:00:00",
            "sequencing_date_after=2020-02-30",
            "sequencing_date=2020-13-45",
            f"project={BIG}",
            f"folder={BIG}",
            f"taxon_id={BIG}",
            f"size_min={BIG}",
            "size_max=1_000",
            "project=٣",
        ],
    )
    def test_file_search(self, api, project, query):
        make_file(project)
        response = api.get(f"/api/files/?{query}")
        assert response.status_code == 400, (query, response.content)
        assert query.split("=")[0] in response.json()["errors"]

    @pytest.mark.parametrize(
        "url",
        [
            f"/api/folders/?parent={BIG}",
            f"/api/grants/?object={BIG}&object_type=file",
            f"/api/grants/?object={BIG}&object_type=folder",
            f"/api/audit/?project={BIG}",
            f"/api/ml/tasks/?file={BIG}",
            f"/api/cellxgene/status/?file={BIG}",
            f"/api/files/ncbi/import/SRR1/status/?project={BIG}",
            f"/api/files/ncbi/import/SRR1/status/?folder={BIG}",
            "/api/projects/{project}/download-report/?since=2020-02-30",
            "/api/projects/{project}/download-report/?until=2020-13-45T00:00:00",
            "/api/folders/?parent=a%00b",
            "/api/files/?q=a%00b",
            "/api/users/?q=a%00b",
        ],
    )
    def test_other_filters(self, api, project, url):
        make_folder(project)
        response = api.get(url.format(project=project.id))
        assert response.status_code == 400, (url, response.content)
        assert response.json()["code"] != "server_error"

    @pytest.mark.parametrize(
        "url",
        [
            "/api/audit/?until=1203-08-05T16:32:31.7720-23:35",
            "/api/audit/?since=2020-01-01T00:00:00%2B23:59",
            "/api/files/?created_after=2020-01-01T00:00:00-23:35",
        ],
    )
    def test_any_utc_offset_is_taken_in_utc(self, api, project, url):
        # PostgreSQL refuses offsets beyond about 16 hours: the value reaches it in UTC.
        response = api.get(url)
        assert response.status_code == 200, (url, response.content)

    @pytest.mark.parametrize(
        "url",
        ["/api/audit/?since=0001-01-01T00:00:00%2B05:00", "/api/files/?created_after=0001-01-01T00:00:00%2B05:00"],
    )
    def test_a_moment_before_the_first_year_in_utc_is_400(self, api, project, url):
        response = api.get(url)
        assert response.status_code == 400, (url, response.content)


class TestJsonBodies:
    def test_a_5000_deep_body_is_400(self, api, project):
        for url in ("/api/projects/", "/api/folders/", "/api/files/privacy-check/", "/api/ml/trigger/"):
            body = '{"a":' * 5000 + "1" + "}" * 5000
            response = api.post(url, body, content_type="application/json")
            assert response.status_code == 400, (url, response.status_code)
            assert "nested deeper" in response.json()["detail"]
        assert Project.objects.count() == 1

    def test_moderate_nesting_is_fine_and_the_bound_is_exact(self, api, project):
        from file_project.parsers import MAX_JSON_DEPTH

        def nested(levels: int) -> str:
            return '{"name": "n", "x":' * (levels - 1) + "[1]" + "}" * (levels - 1)

        assert api.post("/api/projects/", nested(MAX_JSON_DEPTH), content_type="application/json").status_code == 201
        too_deep = api.post("/api/projects/", nested(MAX_JSON_DEPTH + 1), content_type="application/json")
        assert too_deep.status_code == 400

    def test_a_nul_in_a_json_string_is_400(self, api, project):
        response = api.post("/api/projects/", {"name": "a\x00b"}, format="json")
        assert response.status_code == 400
        response = api.post("/api/ml/trigger/", {"task_type": "qc", "params": {"k": "a\x00"}}, format="json")
        assert response.status_code == 400


class TestSignedTokens:
    @pytest.mark.parametrize(
        "payload",
        [
            {"f": "abc", "u": 1, "e": 4102444800},
            {"f": 2**70, "u": 1, "e": 4102444800},
            {"f": 1, "u": [1], "e": 4102444800},
            {"f": 1, "u": 1, "e": "tomorrow"},
            {"f": 1.5, "u": 1, "e": 4102444800},
            {"f": True, "u": 1, "e": 4102444800},
        ],
    )
    def test_a_signed_payload_of_the_wrong_types_names_nothing(self, project, payload):
        make_file(project)
        token = signing.dumps(payload, salt=SIGNING_SALT, compress=True)
        response = APIClient().get(f"/api/signed/{token}/reads.fastq")
        assert response.status_code == 404, response.content
        assert response.json()["code"] == "not_found"


class TestStrictJsonTypes:
    """A JSON body gives each field the type the schema declares: a number or a boolean where
    a string is declared, 0/1 where a boolean is, digits as text where an integer is, are each a
    400 naming the field, and nothing changes. Forms (every value text) still work."""

    @pytest.mark.parametrize(
        ("path", "body", "field"),
        [
            ("file", {"reference_genome": 0}, "reference_genome"),
            ("file", {"description": True}, "description"),
            ("file", {"taxon_id": "9606"}, "taxon_id"),
            ("file", {"read_length": 150.0}, "read_length"),
            ("folder", {"name": 0}, "name"),
            ("project", {"name": 12}, "name"),
            ("project", {"holds_human_data": 1}, "holds_human_data"),
        ],
    )
    def test_a_value_of_another_json_type_is_refused(self, api, project, path, body, field):
        folder = make_folder(project)
        file = make_file(project, folder=folder, reference_genome="GRCh38")
        url = {"file": f"/api/files/{file.id}/", "folder": f"/api/folders/{folder.id}/"}.get(
            path, f"/api/projects/{project.id}/"
        )
        response = api.patch(url, body, format="json")
        assert response.status_code == 400, response.content
        assert field in response.json()["errors"]
        file.refresh_from_db(), folder.refresh_from_db(), project.refresh_from_db()
        assert (file.reference_genome, folder.name, project.name) == ("GRCh38", "raw", "P")
        assert file.taxon_id is None and not project.holds_human_data

    def test_the_declared_types_are_accepted(self, api, project):
        file = make_file(project)
        body = {"reference_genome": "GRCh38", "taxon_id": 9606, "read_length": 150}
        assert api.patch(f"/api/files/{file.id}/", body, format="json").status_code == 200
        answer = api.patch(f"/api/projects/{project.id}/", {"holds_human_data": True}, format="json")
        assert answer.status_code == 200 and answer.json()["holds_human_data"] is True

    def test_a_form_upload_still_sends_every_value_as_text(self, api, project):
        from django.core.files.uploadedfile import SimpleUploadedFile

        body = {"file": SimpleUploadedFile("a.fastq", b"@r\nA\n+\nI\n"), "project": str(project.id)}
        body |= {"taxon_id": "9606", "reference_genome": "GRCh38", "description": "12"}
        response = api.post("/api/files/", body, format="multipart")
        assert response.status_code == 201, response.content
        assert response.json()["taxon_id"] == 9606 and response.json()["description"] == "12"
