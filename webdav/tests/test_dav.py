"""WebDAV requests in process (the Django test client): MOVE, COPY, MKCOL, PROPFIND, LOCK,
dead properties; the live-server tests are in tests/integration/test_webdav.py."""

from __future__ import annotations

import pytest

from authentication.services import issue_token
from file_upload.models import AccessLevel, File, Folder
from file_upload.tests.factories import ProjectFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("storage_backend")]


@pytest.fixture
def lab(alice):
    return ProjectFactory(name="Lab", owner=alice, access_level=AccessLevel.INTERNAL)


@pytest.fixture
def dav(client, alice):
    token = issue_token(alice)

    def call(method: str, path: str, body: bytes = b"", **headers: str):
        extra = {f"HTTP_{k.upper()}": v for k, v in headers.items()}
        return client.generic(method, path, body, HTTP_AUTHORIZATION=f"Token {token}", HTTP_HOST="testserver", **extra)

    return call


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_put_move_copy_mkcol_delete(dav, lab):
    assert dav("PUT", "/dav/Lab/a.txt", b"alpha").status_code == 201
    assert dav("MKCOL", "/dav/Lab/sub/").status_code == 201
    moved = dav("MOVE", "/dav/Lab/a.txt", destination="http://testserver/dav/Lab/sub/b.txt")
    assert moved.status_code == 201, body(moved)
    file = File.objects.get(name="b.txt")
    assert file.folder.name == "sub"
    copied = dav("COPY", "/dav/Lab/sub/", destination="http://testserver/dav/Lab/sub2/")
    assert copied.status_code == 201, body(copied)
    assert File.objects.alive().filter(name="b.txt").count() == 2
    renamed = dav("MOVE", "/dav/Lab/sub2/", destination="http://testserver/dav/Lab/sub3/")
    assert renamed.status_code == 201, body(renamed)
    assert Folder.objects.filter(name="sub3").exists()
    assert body(dav("GET", "/dav/Lab/sub3/b.txt")) == b"alpha"
    assert dav("DELETE", "/dav/Lab/sub3/").status_code == 204
    assert not Folder.objects.filter(name="sub3").exists()
    assert File.objects.filter(name="b.txt", deleted_at__isnull=False).count() == 1


def test_copy_onto_an_existing_collection_with_overwrite(dav, lab):
    for path in ("/dav/Lab/src/", "/dav/Lab/dest/"):
        assert dav("MKCOL", path).status_code == 201
    assert dav("PUT", "/dav/Lab/src/foo.0", b"new").status_code == 201
    assert dav("PUT", "/dav/Lab/dest/foo.0", b"old").status_code == 201
    copied = dav("COPY", "/dav/Lab/src/", destination="http://testserver/dav/Lab/dest/", overwrite="T")
    assert copied.status_code == 204, body(copied)
    assert body(dav("GET", "/dav/Lab/dest/foo.0")) == b"new"
    refused = dav("COPY", "/dav/Lab/src/", destination="http://testserver/dav/Lab/dest/", overwrite="F")
    assert refused.status_code == 412
