"""Metadata the app filled in is marked in the API until a person edits it; a lone mate is not
guessed paired; a refused edit says why (the caller's role), a bad value names the vocabulary —
what the SPA's bulk "Set field" reports per file."""

from __future__ import annotations

import pytest

from file_upload import services
from file_upload.tests.factories import ProjectFactory, ProjectMemberFactory, make_file

pytestmark = pytest.mark.django_db

READS = b"".join(b"@A00123:8:HFWTLDSXY:1:1101:%d:1000 1:N:0:ACGT\nACGTACGTAC\n+\nIIIIIIIIII\n" % i for i in range(8))


@pytest.fixture
def project(alice):
    return ProjectFactory(name="Mouse liver", owner=alice, access_level="internal")


def test_autofilled_values_are_marked_and_the_mark_goes_when_a_person_edits(api, project):
    file = services.parse_file(make_file(project, "liver_S1_L001_R1_001.fastq", READS).id)
    body = api.get(f"/api/files/{file.id}/").json()
    assert body["platform"] == "Illumina" and body["read_length"] == 10
    assert {"platform", "read_length", "instrument_model", "file_format"} <= set(body["autofilled_fields"])
    # a lone _R1 (no _R2 in the folder) is not guessed paired
    assert body["library_layout"] == "" and "library_layout" not in body["autofilled_fields"]
    edited = api.patch(f"/api/files/{file.id}/", {"platform": "MGI"}, format="json")
    assert edited.status_code == 200, edited.json()
    assert "platform" not in edited.json()["autofilled_fields"]
    assert "read_length" in edited.json()["autofilled_fields"]  # untouched values keep their mark
    # the list (search) answers carry the marks too
    listed = api.get("/api/files/", {"project": project.id}).json()["results"]
    assert listed[0]["autofilled_fields"] == edited.json()["autofilled_fields"]
    # a re-parse never takes back a value a person typed
    services.parse_file(file.id)
    assert api.get(f"/api/files/{file.id}/").json()["platform"] == "MGI"


def test_the_mate_arriving_makes_both_paired_and_marked(api, project):
    first = services.parse_file(make_file(project, "liver_S1_L001_R1_001.fastq", READS).id)
    second = services.parse_file(make_file(project, "liver_S1_L001_R2_001.fastq", READS).id)
    for file in (first, second):
        body = api.get(f"/api/files/{file.id}/").json()
        assert body["library_layout"] == "paired" and "library_layout" in body["autofilled_fields"]


def test_a_refused_edit_names_the_callers_role(project, bob, client_for, make_user):
    ProjectMemberFactory(project=project, user=bob, role="viewer")
    file = make_file(project, "a.fastq", READS)
    response = client_for(bob).patch(f"/api/files/{file.id}/", {"platform": "Illumina"}, format="json")
    assert response.status_code == 403
    assert "you are a viewer of project “Mouse liver”" in response.json()["detail"]
    stranger = client_for(make_user("carol"))
    response = stranger.patch(f"/api/files/{file.id}/", {"platform": "Illumina"}, format="json")
    assert response.status_code == 403 and "no role in project “Mouse liver”" in response.json()["detail"]


def test_a_value_outside_the_vocabulary_is_a_400_naming_the_field(api, project):
    file = make_file(project, "a.fastq", READS)
    response = api.patch(f"/api/files/{file.id}/", {"platform": "illumina hiseq"}, format="json")
    assert response.status_code == 400
    assert "platform" in str(response.json())
    file.refresh_from_db()
    assert file.platform == ""
