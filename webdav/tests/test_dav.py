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


def test_a_data_file_moved_takes_its_index_along_as_in_the_web_app(dav, lab):
    assert dav("PUT", "/dav/Lab/x.bam", b"BAM\x01").status_code == 201
    assert dav("PUT", "/dav/Lab/x.bam.bai", b"BAI\x01").status_code == 201
    assert dav("MKCOL", "/dav/Lab/aln/").status_code == 201
    moved = dav("MOVE", "/dav/Lab/x.bam", destination="http://testserver/dav/Lab/aln/y.bam")
    assert moved.status_code == 201, body(moved)
    data, index = File.objects.get(name="y.bam"), File.objects.get(name="x.bam.bai")
    assert data.folder.name == "aln" and index.folder_id == data.folder_id
    assert index.index_of_id == data.id


def test_a_move_into_another_project_needs_manage_rights_as_in_the_web_app(client, alice, make_user):
    """An editor may not take their own restricted file into a public project by MOVE, any more
    than with ``POST /api/files/<id>/move/``; the project's managers may."""

    editor = make_user("editor")
    cohort = ProjectFactory(name="Cohort", owner=alice, access_level=AccessLevel.RESTRICTED, members={editor: "editor"})
    open_lab = ProjectFactory(name="Open", owner=alice, access_level=AccessLevel.PUBLIC, members={editor: "editor"})

    def move(user, path: str, destination: str):
        token = issue_token(user)
        return client.generic(
            "MOVE", path, HTTP_AUTHORIZATION=f"Token {token}", HTTP_HOST="testserver", HTTP_DESTINATION=destination
        )

    from file_upload.tests.factories import make_file

    file = make_file(cohort, "donor.vcf", owner=editor)
    refused = move(editor, "/dav/Cohort/donor.vcf", "http://testserver/dav/Open/donor.vcf")
    assert refused.status_code == 403, body(refused)
    assert File.objects.alive().filter(project=open_lab).count() == 0
    file.refresh_from_db()
    assert file.deleted_at is None and file.project_id == cohort.id
    moved = move(alice, "/dav/Cohort/donor.vcf", "http://testserver/dav/Open/donor.vcf")
    assert moved.status_code in (201, 204), body(moved)
    assert File.objects.alive().get(project=open_lab).name == "donor.vcf"


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


def test_app_passwords_never_start_with_a_dash(alice, monkeypatch):
    """A secret starting with "-" is drawn again: command-line clients read it as an option."""
    from webdav import services

    drawn = iter(["-starts-with-a-dash", "_fine-one"])
    monkeypatch.setattr(services.secrets, "token_urlsafe", lambda nbytes: next(drawn))
    item, secret = services.create_app_password(alice, "rclone")
    assert secret == "_fine-one"
    assert services.check_app_password(alice.username, secret) == alice
    assert services.check_app_password(alice.username, "-starts-with-a-dash") is None
