from __future__ import annotations

import hashlib

import pytest

from file_upload.tests.factories import ProjectFactory, make_file

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("storage_backend")]

CONTENT = bytes(range(256)) * 1000


def body_of(response) -> bytes:
    return b"".join(response.streaming_content)


def test_download_returns_exact_bytes_and_headers(api, alice):
    project = ProjectFactory(name="P", owner=alice)
    file = make_file(project, "blob.bin", CONTENT)
    response = api.get(f"/api/files/{file.id}/download/")
    assert response.status_code == 200
    assert body_of(response) == CONTENT
    assert response["Content-Length"] == str(len(CONTENT))
    assert response["ETag"] == f'"{hashlib.sha256(CONTENT).hexdigest()}"'
    assert response["Content-Disposition"] == 'attachment; filename="blob.bin"'


def test_public_file_downloads_anonymously_internal_does_not(anon, alice):
    public = ProjectFactory(name="Pub", owner=alice, access_level="public")
    internal = ProjectFactory(name="Int", owner=alice)
    assert anon.get(f"/api/files/{make_file(public).id}/download/").status_code == 200
    response = anon.get(f"/api/files/{make_file(internal).id}/download/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_restricted_file_is_404_for_strangers(client_for, alice, make_user):
    project = ProjectFactory(name="S", owner=alice, access_level="restricted")
    file = make_file(project)
    assert client_for(make_user("mallory")).get(f"/api/files/{file.id}/download/").status_code == 404
    assert client_for(alice).get(f"/api/files/{file.id}/download/").status_code == 200


def test_unknown_file_is_json_404(api):
    response = api.get("/api/files/999999/download/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}
