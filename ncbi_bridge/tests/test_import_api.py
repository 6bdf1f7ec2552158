"""``/api/files/ncbi/…``: one import per kind, the failures, access, deduplication, audit."""

from __future__ import annotations

import json

import pytest

from authentication.models import AuditEvent
from file_upload import storage
from file_upload.models import File
from file_upload.services import soft_delete_file, update_project
from file_upload.tests.factories import ProjectMemberFactory, make_file, make_folder
from ncbi_bridge.models import NcbiImport

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("storage_backend")]

IMPORT = "/api/files/ncbi/import/"
PREVIEW = "/api/files/ncbi/preview/"


def post(api, url, folder=None, project=None):
    body = {"url": url}
    if folder is not None:
        body["parent_folder"] = folder.id
    if project is not None:
        body["project"] = project.id
    return api.post(IMPORT, body, format="json")


def content(file: File) -> bytes:
    with storage.open_blob(file.storage_key) as handle:
        return handle.read()


def ncbi_events():
    return list(AuditEvent.objects.filter(action="ncbi.import").order_by("id"))


class TestEachKind:
    def test_pubmed(self, api, folder, fake_ncbi):
        response = post(api, "https://pubmed.ncbi.nlm.nih.gov/22294463/", folder)
        assert response.status_code == 201, response.json()
        data = response.json()
        assert data["status"] == "done" and data["kind"] == "pubmed" and data["accession"] == "22294463"
        assert data["metadata"] == {"data_type": "document"}
        assert data["summary"]["title"] == "Known and potential roles of transferrin in iron biology."
        file = File.objects.get(id=data["file"])
        assert data["files"] == [file.id]
        assert (file.name, file.folder_id, file.upload_method) == ("PMID_22294463.txt", folder.id, "ncbi import")
        assert file.data_type == "document"
        assert content(file).startswith(b"1. Biometals. 2012 Aug;25(4):677-86.")
        assert [c[2]["db"] for c in fake_ncbi.requests] == ["pubmed", "pubmed"]

    def test_gene(self, api, folder):
        data = post(api, "https://www.ncbi.nlm.nih.gov/gene/7157", folder).json()
        file = File.objects.get(id=data["file"])
        assert file.name == "TP53_GeneID_7157.json"
        assert (file.organism, file.taxon_id, file.data_type) == ("Homo sapiens", 9606, "document")
        record = json.loads(content(file))
        assert record["symbol"] == "TP53" and record["summary"].startswith("This gene encodes")

    def test_protein(self, api, folder):
        data = post(api, "NP_000537.3", folder).json()
        file = File.objects.get(id=data["file"])
        assert file.name == "NP_000537.3.fasta"
        assert (file.organism, file.taxon_id, file.data_type) == ("Homo sapiens", 9606, "reference")
        text = content(file).decode()
        assert text.startswith(">NP_000537.3 cellular tumor antigen p53")
        assert max(len(line) for line in text.splitlines()) == 70

    def test_nucleotide(self, api, folder):
        data = post(api, "https://www.ncbi.nlm.nih.gov/nuccore/NM_000546.6", folder).json()
        file = File.objects.get(id=data["file"])
        assert (file.name, file.data_type) == ("NM_000546.6.fasta", "reference")

    def test_bioproject(self, api, folder, fake_ncbi):
        data = post(api, "https://www.ncbi.nlm.nih.gov/bioproject/PRJNA988806", folder).json()
        file = File.objects.get(id=data["file"])
        assert file.name == "PRJNA988806.json"
        assert (file.organism, file.taxon_id, file.bioproject_accession) == ("Mus musculus", 10090, "PRJNA988806")
        assert fake_ncbi.requests[0][2]["term"] == "PRJNA988806[PRJA]"

    def test_bioproject_by_numeric_uid_keeps_the_accession(self, api, folder, fake_ncbi):
        data = post(api, "https://www.ncbi.nlm.nih.gov/bioproject/988806", folder).json()
        assert data["accession"] == "PRJNA988806"
        assert not fake_ncbi.calls("esearch.fcgi")
        again = post(api, "PRJNA988806", folder)
        assert again.status_code == 200 and again.json()["file"] == data["file"]

    def test_biosample(self, api, folder):
        data = post(api, "SAMN36028301", folder).json()
        file = File.objects.get(id=data["file"])
        assert file.name == "SAMN36028301.json"
        assert (file.tissue, file.cell_type, file.sex, file.treatment) == ("liver", "hepatocyte", "female", "CCl4")
        assert (file.biosample_accession, file.bioproject_accession) == ("SAMN36028301", "PRJNA988806")
        assert json.loads(content(file))["attributes"]["strain"] == "C57BL/6J"

    def test_into_the_project_root(self, api, project):
        response = post(api, "PMID:22294463", project=project)
        assert response.status_code == 201
        assert File.objects.get(id=response.json()["file"]).folder is None

    def test_sra_starts_in_the_background(self, api, folder, monkeypatch, django_capture_on_commit_callbacks):
        queued: list[int] = []
        monkeypatch.setattr("ncbi_bridge.tasks.import_ncbi_record_task.delay", queued.append)
        with django_capture_on_commit_callbacks(execute=True):
            response = post(api, "https://www.ncbi.nlm.nih.gov/sra/SRR25056225", folder)
        assert response.status_code == 202, response.json()
        data = response.json()
        assert data["status"] == "pending" and data["file"] is None and data["files"] == []
        assert data["metadata"]["assay_type"] == "scRNA-seq"
        assert data["metadata"]["sra_accession"] == "SRR25056225"
        assert queued == [data["id"]]
        status = api.get(data["status_url"]).json()
        assert status["status"] == "pending" and status["id"] == data["id"]


class TestFailures:
    def test_cannot_get_document_summary(self, api, folder):
        response = post(api, "GeneID:999999999", folder)
        assert response.status_code == 404
        body = response.json()
        assert body["code"] == "ncbi_not_found" and "cannot get document summary" in body["detail"]
        assert body["status"] == "failed"
        assert not File.objects.exists()
        row = NcbiImport.objects.get()
        assert row.status == "failed" and "cannot get document summary" in row.error
        assert ncbi_events()[-1].details["status"] == "failed"

    def test_efetch_error_body(self, api, folder):
        response = post(api, "NP_999999.1", folder)
        assert response.status_code == 404 and "Error: F a i l e d" in response.json()["detail"]
        assert not File.objects.exists()

    def test_500_then_success(self, api, folder, fake_ncbi):
        fake_ncbi.fail_next("efetch.fcgi", 500)
        response = post(api, "PMID:22294463", folder)
        assert response.status_code == 201
        assert len(fake_ncbi.calls("efetch.fcgi")) == 2

    def test_429_with_retry_after(self, api, folder, fake_ncbi):
        fake_ncbi.fail_next("esummary.fcgi", 429)
        response = post(api, "PMID:22294463", folder)
        assert response.status_code == 201
        first, second = fake_ncbi.calls("esummary.fcgi")
        assert second[0] - first[0] >= 0.95

    def test_ncbi_down(self, api, folder, fake_ncbi, settings):
        fake_ncbi.fail_next("esummary.fcgi", 502, 502, 502, 502)
        response = post(api, "PMID:22294463", folder)
        assert response.status_code == 502
        assert response.json()["code"] == "ncbi_unavailable"

    def test_retry_after_a_failure_reuses_the_row(self, api, folder, fake_ncbi):
        fake_ncbi.fail_next("esummary.fcgi", 500, 500, 500, 500)
        assert post(api, "PMID:22294463", folder).status_code == 502
        response = post(api, "PMID:22294463", folder)
        assert response.status_code == 201
        assert NcbiImport.objects.count() == 1 and NcbiImport.objects.get().status == "done"

    def test_unsupported_link_lists_patterns(self, api, folder):
        response = post(api, "https://example.org/whatever", folder)
        assert response.status_code == 400
        body = response.json()
        assert body["code"] == "unsupported_link" and len(body["patterns"]) == 7
        assert "pubmed.ncbi.nlm.nih.gov" in body["detail"]
        assert not NcbiImport.objects.exists()

    def test_name_taken_by_another_file(self, api, folder):
        make_file(folder.project, "PMID_22294463.txt", b"mine", folder=folder)
        response = post(api, "PMID:22294463", folder)
        assert response.status_code == 409 and response.json()["code"] == "name_conflict"

    def test_needs_a_target(self, api):
        response = api.post(IMPORT, {"url": "PMID:22294463"}, format="json")
        assert response.status_code == 400 and "parent_folder" in response.json()["errors"]


class TestAccess:
    def test_folder_the_user_cannot_see_is_404(self, client_for, bob, project, fake_ncbi):
        project.access_level = "restricted"
        project.save()
        hidden = make_folder(project, "private")
        response = post(client_for(bob), "PMID:22294463", hidden)
        assert response.status_code == 404
        assert not fake_ncbi.requests and not NcbiImport.objects.exists()

    def test_viewer_is_403(self, client_for, bob, project, folder, fake_ncbi):
        ProjectMemberFactory(project=project, user=bob, role="viewer")
        response = post(client_for(bob), "PMID:22294463", folder)
        assert response.status_code == 403
        assert not fake_ncbi.requests

    def test_editor_may_import(self, client_for, bob, project, folder):
        ProjectMemberFactory(project=project, user=bob, role="editor")
        assert post(client_for(bob), "PMID:22294463", folder).status_code == 201

    def test_anonymous_is_401(self, anon, folder):
        assert post(anon, "PMID:22294463", folder).status_code in (401, 403)
        assert anon.get(PREVIEW, {"q": "PMID:22294463"}).status_code in (401, 403)

    def test_status_of_an_import_in_a_hidden_folder_is_404(self, api, alice, client_for, bob, project, folder):
        update_project(project, actor=alice, access_level="restricted")
        post(api, "PMID:22294463", folder)
        assert api.get("/api/files/ncbi/import/22294463/status/").status_code == 200
        assert client_for(bob).get("/api/files/ncbi/import/22294463/status/").status_code == 404


class TestDedupeAndAudit:
    def test_same_accession_same_folder_returns_the_existing_file(self, api, folder, fake_ncbi):
        first = post(api, "https://pubmed.ncbi.nlm.nih.gov/22294463/", folder).json()
        calls = len(fake_ncbi.requests)
        again = post(api, "PMID:22294463", folder)
        assert again.status_code == 200
        assert again.json()["file"] == first["file"] and again.json()["id"] == first["id"]
        assert File.objects.count() == 1 and len(fake_ncbi.requests) == calls

    def test_other_folder_gets_its_own_copy(self, api, project, folder):
        other = make_folder(project, "papers")
        a = post(api, "PMID:22294463", folder).json()
        b = post(api, "PMID:22294463", other).json()
        assert a["file"] != b["file"] and File.objects.count() == 2

    def test_deleted_file_is_imported_again(self, api, alice, folder):
        first = post(api, "PMID:22294463", folder).json()
        soft_delete_file(File.objects.get(id=first["file"]), actor=alice)
        again = post(api, "PMID:22294463", folder)
        assert again.status_code == 201 and again.json()["file"] != first["file"]

    def test_every_import_is_audited(self, api, alice, folder):
        post(api, "PMID:22294463", folder)
        post(api, "PMID:22294463", folder)
        post(api, "GeneID:999999999", folder)
        events = ncbi_events()
        assert [(e.details["accession"], e.details["kind"], e.details["status"]) for e in events] == [
            ("22294463", "pubmed", "done"),
            ("22294463", "pubmed", "done"),
            ("999999999", "gene", "failed"),
        ]
        assert events[1].details["deduplicated"] is True
        assert events[0].actor_id == alice.id and events[0].object_type == "file"
        assert AuditEvent.objects.filter(action="file.upload", details__method="ncbi import").count() == 1


class TestPreviewAndStatus:
    @pytest.mark.parametrize(
        ("q", "kind", "accession", "title"),
        [
            ("https://pubmed.ncbi.nlm.nih.gov/22294463/", "pubmed", "22294463", "Known and potential roles"),
            ("GeneID:7157", "gene", "7157", "TP53 — tumor protein p53"),
            ("NP_000537.3", "protein", "NP_000537.3", "cellular tumor antigen p53"),
            ("NM_000546.6", "nucleotide", "NM_000546.6", "Homo sapiens tumor protein p53"),
            ("PRJNA988806", "bioproject", "PRJNA988806", "Single-cell transcriptomes"),
            ("SAMN36028301", "biosample", "SAMN36028301", "Mouse liver, day 3"),
            ("https://trace.ncbi.nlm.nih.gov/Traces/?run=SRR25056225", "sra", "SRR25056225", "GSM7518069"),
        ],
    )
    def test_preview(self, api, q, kind, accession, title):
        response = api.get(PREVIEW, {"q": q})
        assert response.status_code == 200, response.json()
        data = response.json()
        assert (data["kind"], data["accession"]) == (kind, accession)
        assert data["summary"]["title"].startswith(title)
        assert data["background"] is (kind == "sra")

    def test_preview_unknown_and_missing(self, api):
        bad = api.get(PREVIEW, {"q": "not a link"})
        assert bad.status_code == 400 and bad.json()["patterns"]
        missing = api.get(PREVIEW, {"q": "SRR0000000"})
        assert missing.status_code == 404 and missing.json()["code"] == "ncbi_not_found"

    def test_status_filters(self, api, project, folder):
        post(api, "PMID:22294463", folder)
        assert api.get("/api/files/ncbi/import/PMID:22294463/status/").json()["status"] == "done"
        assert api.get("/api/files/ncbi/import/22294463/status/", {"kind": "gene"}).status_code == 404
        assert api.get("/api/files/ncbi/import/22294463/status/", {"folder": "null"}).status_code == 404
        ok = api.get("/api/files/ncbi/import/22294463/status/", {"folder": folder.id, "project": project.id})
        total = File.objects.get().size
        assert ok.json()["progress"] == {"bytes": total, "total": total, "percent": 100}
        assert api.get("/api/files/ncbi/import/SRR1/status/").status_code == 404
