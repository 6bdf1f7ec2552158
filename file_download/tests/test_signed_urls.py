from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from authentication.models import AuditEvent
from file_upload.models import Project, ProjectMember
from file_upload.tests.factories import make_file

pytestmark = pytest.mark.django_db
CONTENT = b"ACGT" * 1000


@pytest.fixture
def file(alice):
    return make_file(Project.objects.create(name="P", owner=alice, access_level="restricted"), "x.vcf", CONTENT)


def signed(api, file, **body) -> dict:
    response = api.post(f"/api/files/{file.id}/download-url/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def path_of(url: str) -> str:
    return url.replace("http://testserver", "")


def test_signed_url_works_without_a_session_with_ranges(api, file):
    link = signed(api, file, expires_in=3600)
    assert link["url"].startswith("http://testserver/api/signed/") and link["url"].endswith("/x.vcf")
    anonymous = APIClient()
    response = anonymous.get(path_of(link["url"]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == CONTENT
    ranged = anonymous.get(path_of(link["url"]), HTTP_RANGE="bytes=4-7")
    assert (ranged.status_code, b"".join(ranged.streaming_content)) == (206, b"ACGT")
    issued = AuditEvent.objects.get(action="file.signed_url")
    downloads = AuditEvent.objects.filter(action="file.download")
    assert issued.actor_username == "alice"
    assert [(d.actor_username, d.details["via"], d.details["signed_by"]) for d in downloads] == [
        ("alice", "signed_url", "alice")
    ] * 2


def test_tampered_links_are_403_json(api, file):
    url = path_of(signed(api, file)["url"])
    token = url.split("/")[3]
    forged = url.replace(token, token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    response = APIClient().get(forged)
    assert response.status_code == 403
    assert response.json()["code"] == "invalid_signature"
    assert APIClient().get("/api/signed/garbage/x.vcf").status_code == 403


def test_expired_links_are_403_json(api, file):
    url = path_of(signed(api, file, expires_in=60)["url"])
    later = timezone.now() + timedelta(seconds=61)
    with mock.patch("file_download.services.datetime") as fake:
        fake.now.return_value = later
        response = APIClient().get(url)
    assert response.status_code == 403
    assert response.json()["code"] == "expired"


def test_expiry_bounds(api, file, settings):
    assert api.post(f"/api/files/{file.id}/download-url/", {"expires_in": 10}).status_code == 400
    settings.BIOFM_SIGNED_URL_MAX_SECONDS = 3600
    assert api.post(f"/api/files/{file.id}/download-url/", {"expires_in": 7200}).status_code == 400


def test_only_viewers_can_sign_and_links_die_with_access(api, client_for, bob, file):
    assert client_for(bob).post(f"/api/files/{file.id}/download-url/").status_code == 404
    member = ProjectMember.objects.create(project=file.project, user=bob, role="viewer")
    url = path_of(signed(client_for(bob), file)["url"])
    assert APIClient().get(url).status_code == 200
    member.delete()
    assert APIClient().get(url).status_code == 404


def test_deleted_files_are_gone(api, file):
    url = path_of(signed(api, file)["url"])
    api.delete(f"/api/files/{file.id}/")
    assert APIClient().get(url).status_code == 404


def test_bam_index_beside_the_blob_is_served_as_name_bai(api, alice):
    from file_upload import storage

    bam = make_file(Project.objects.create(name="B", owner=alice), "reads.bam", b"BAM")
    url = path_of(signed(api, bam)["url"])
    assert APIClient().get(url + ".bai").status_code == 404
    index = str(storage.path_for(bam.storage_key)) + ".bai"
    with open(index, "wb") as handle:
        handle.write(b"BAI\x01")
    response = APIClient().get(url + ".bai")
    assert b"".join(response.streaming_content) == b"BAI\x01"
