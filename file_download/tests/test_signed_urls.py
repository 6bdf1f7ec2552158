from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from authentication.models import AuditEvent
from file_upload.tests.factories import ProjectFactory, ProjectMemberFactory, make_file, store_beside

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("storage_backend")]
CONTENT = b"ACGT" * 1000


@pytest.fixture
def file(alice):
    return make_file(ProjectFactory(name="P", owner=alice, access_level="restricted"), "x.vcf", CONTENT)


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


def test_a_browser_opening_a_bad_link_gets_a_readable_page(api, file):
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    url = path_of(signed(api, file, expires_in=60)["url"])
    later = timezone.now() + timedelta(seconds=61)
    with mock.patch("file_download.services.datetime") as fake:
        fake.now.return_value = later
        expired = APIClient().get(url, HTTP_ACCEPT=browser)
    assert expired.status_code == 403 and expired["Content-Type"].startswith("text/html")
    page = expired.content.decode()
    assert "This download link can't be used" in page and "expired" in page and "{" not in page
    garbage = APIClient().get("/api/signed/garbage/x.vcf", HTTP_ACCEPT=browser)
    assert garbage.status_code == 403 and b"<h1>" in garbage.content
    # tools (curl, samtools) keep the JSON answer
    assert APIClient().get("/api/signed/garbage/x.vcf", HTTP_ACCEPT="*/*").json()["code"] == "invalid_signature"


def test_expiry_bounds(api, file, settings):
    assert api.post(f"/api/files/{file.id}/download-url/", {"expires_in": 10}).status_code == 400
    settings.BIOFM_SIGNED_URL_MAX_SECONDS = 3600
    assert api.post(f"/api/files/{file.id}/download-url/", {"expires_in": 7200}).status_code == 400


def test_only_viewers_can_sign_and_links_die_with_access(api, client_for, bob, file):
    assert client_for(bob).post(f"/api/files/{file.id}/download-url/").status_code == 404
    member = ProjectMemberFactory(project=file.project, user=bob, role="viewer")
    url = path_of(signed(client_for(bob), file)["url"])
    assert APIClient().get(url).status_code == 200
    member.delete()
    assert APIClient().get(url).status_code == 404


def test_deleted_files_are_gone(api, file):
    url = path_of(signed(api, file)["url"])
    api.delete(f"/api/files/{file.id}/")
    assert APIClient().get(url).status_code == 404


def test_bam_index_beside_the_blob_is_served_as_name_bai(api, alice):
    bam = make_file(ProjectFactory(name="B", owner=alice), "reads.bam", b"BAM")
    url = path_of(signed(api, bam)["url"])
    assert APIClient().get(url + ".bai").status_code == 404
    store_beside(bam, ".bai", b"BAI\x01")
    response = APIClient().get(url + ".bai")
    assert b"".join(response.streaming_content) == b"BAI\x01"


@pytest.mark.parametrize("suffix", [".tbi", ".csi", ".bai", ".crai"])
def test_an_index_name_never_answers_with_the_data_files_bytes(api, file, suffix):
    url = path_of(signed(api, file)["url"])
    response = APIClient().get(url + suffix)
    assert response.status_code == 404
    assert CONTENT not in response.content
    assert not AuditEvent.objects.filter(action="file.download").exists()


def test_each_index_name_serves_its_own_kind_appended_or_replacing_the_extension(api, alice):
    bam = make_file(ProjectFactory(name="B", owner=alice), "reads.bam", b"BAM")
    store_beside(bam, ".bai", b"BAI\x01")
    url = path_of(signed(api, bam)["url"])
    anonymous = APIClient()
    assert b"".join(anonymous.get(url + ".bai").streaming_content) == b"BAI\x01"
    replaced = url.removesuffix(".bam") + ".bai"  # htslib's second guess: reads.bai
    assert b"".join(anonymous.get(replaced).streaming_content) == b"BAI\x01"
    assert anonymous.get(url + ".csi").status_code == 404  # samtools asks for .csi first
    store_beside(bam, ".csi", b"CSI\x01")
    assert b"".join(anonymous.get(url + ".csi").streaming_content) == b"CSI\x01"
    ranged = anonymous.get(url + ".bai", HTTP_RANGE="bytes=1-2")
    assert (ranged.status_code, b"".join(ranged.streaming_content)) == (206, b"AI")
    assert anonymous.head(url + ".bai")["Content-Length"] == "4"
    # Index probes are not downloads of the data file; the data read is.
    assert not AuditEvent.objects.filter(action="file.download").exists()
    assert b"".join(anonymous.get(url).streaming_content) == b"BAM"
    assert AuditEvent.objects.filter(action="file.download").count() == 1


def test_a_file_that_is_itself_an_index_is_served_by_its_own_name(api, alice):
    index = make_file(ProjectFactory(name="I", owner=alice), "calls.vcf.gz.tbi", b"TBI\x01")
    url = path_of(signed(api, index)["url"])
    assert b"".join(APIClient().get(url).streaming_content) == b"TBI\x01"


def test_any_origin_may_preflight_a_signed_link_for_range_and_validators(api, file):
    url = path_of(signed(api, file)["url"])
    preflight = APIClient().options(
        url,
        HTTP_ORIGIN="https://dashboard.example.org",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="range,if-range,if-none-match",
    )
    assert preflight.status_code in (200, 204)
    assert preflight["Access-Control-Allow-Origin"] == "*"
    allowed = {h.strip().lower() for h in preflight["Access-Control-Allow-Headers"].split(",")}
    assert {"range", "if-range", "if-none-match"} <= allowed
    assert "Access-Control-Allow-Credentials" not in preflight
    ranged = APIClient().get(url, HTTP_ORIGIN="https://dashboard.example.org", HTTP_RANGE="bytes=-10")
    assert ranged.status_code == 206
    assert ranged["Access-Control-Allow-Origin"] == "*"
    assert "Content-Range" in ranged["Access-Control-Expose-Headers"]
