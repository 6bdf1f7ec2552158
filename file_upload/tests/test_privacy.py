"""Redaction hints for names and metadata that look like personal data."""

from __future__ import annotations

import pytest

from file_upload.privacy import privacy_hints
from file_upload.tests.factories import ProjectFactory, make_file


@pytest.mark.parametrize(
    ("name", "kinds"),
    [
        ("John_Smith_R1.fastq.gz", ["person_name"]),
        ("patient_MRN-1234567.bam", ["mrn"]),
        ("patient_id_99881.fq", ["mrn"]),
        ("sample_dob_x.vcf", ["date_of_birth"]),
        ("donor_12.03.1985.h5ad", ["date_of_birth"]),
        ("jane.doe@example.org_notes.txt", ["email"]),
        ("SRR25056225_1.fastq.gz", []),
        ("run_20240301_L001_R1.fastq", []),
        ("Homo_Sapiens.GRCh38.fa", []),
        ("Bone Marrow.h5ad", []),
        ("reborn_cells.h5ad", []),
    ],
)
def test_name_hints(name, kinds):
    assert [hint["kind"] for hint in privacy_hints(name)] == kinds


def test_metadata_and_tags_are_checked_but_dates_where_expected_are_not():
    hints = privacy_hints(
        "reads.fq", {"sequencing_date": "2024-03-01", "sample_id": "born 1970"}, tags=["x@y.org"], notes="MRN 12345"
    )
    assert [(h["field"], h["kind"]) for h in hints] == [("sample_id", "date_of_birth"), ("tags", "email")]


@pytest.mark.django_db
def test_api_reports_hints_on_files_and_before_upload(api, alice):
    project = ProjectFactory(name="Atlas", owner=alice)
    file = make_file(project, "John_Smith_R1.fastq")
    assert api.get(f"/api/files/{file.id}/").json()["privacy_hints"][0]["kind"] == "person_name"
    response = api.post(
        "/api/files/privacy-check/",
        {"name": "reads.fq", "metadata": {"sample_id": "MRN-778899"}, "tags": ["ok"]},
        format="json",
    )
    assert response.status_code == 200
    assert response.json() == [
        {"field": "sample_id", "kind": "mrn", "message": "looks like a medical record or patient number"}
    ]


@pytest.mark.django_db
class TestHumanDataConsent:
    @pytest.fixture
    def clinic(self, alice):
        return ProjectFactory(name="Clinic", owner=alice, holds_human_data=True)

    def test_multipart_needs_the_confirmation_and_it_is_audited(self, api, clinic):
        from django.core.files.uploadedfile import SimpleUploadedFile

        from authentication.models import AuditEvent

        def post(**extra):
            data = {"file": SimpleUploadedFile("r.fq", b"@r\nA\n+\nI\n"), "project": clinic.id, **extra}
            return api.post("/api/files/", data, format="multipart")

        refused = post()
        assert refused.status_code == 400 and refused.json()["code"] == "consent_required"
        assert "GDPR" in refused.json()["detail"]
        assert post(consent_confirmed="true").status_code == 201
        event = AuditEvent.objects.get(action="upload.consent")
        assert event.details == {"via": "multipart", "name": "r.fq"} and event.project_id == clinic.id

    def test_tus_needs_consent_metadata(self, api, clinic):
        import base64

        def b64(text):
            return base64.b64encode(text.encode()).decode()

        base = f"filename {b64('r.fq')},project {b64(str(clinic.id))}"
        headers = {"HTTP_TUS_RESUMABLE": "1.0.0", "HTTP_UPLOAD_LENGTH": "4"}
        refused = api.post("/api/uploads/", HTTP_UPLOAD_METADATA=base, **headers)
        assert refused.status_code == 400 and refused.json()["code"] == "consent_required"
        ok = api.post("/api/uploads/", HTTP_UPLOAD_METADATA=f"{base},consent {b64('confirmed')}", **headers)
        assert ok.status_code == 201

    def test_other_projects_need_nothing(self, api, alice):
        from django.core.files.uploadedfile import SimpleUploadedFile

        plain = ProjectFactory(name="Plain", owner=alice)
        data = {"file": SimpleUploadedFile("r.fq", b"x"), "project": plain.id}
        assert api.post("/api/files/", data, format="multipart").status_code == 201

    def test_projects_are_created_with_the_flag(self, api):
        response = api.post("/api/projects/", {"name": "Cohort", "holds_human_data": True}, format="json")
        assert response.status_code == 201 and response.json()["holds_human_data"] is True

    def test_managers_flag_projects(self, api, clinic):
        response = api.patch(f"/api/projects/{clinic.id}/", {"holds_human_data": False}, format="json")
        assert response.status_code == 200 and response.json()["holds_human_data"] is False
