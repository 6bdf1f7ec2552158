"""The policy's memos (``read_scope``: each user's reach and what they see; ``PermissionMemo``:
ranks and permissions while one response is written) live for one request or one response,
never longer: not in the thread that served it (gunicorn's gthread workers reuse threads), not
in another thread, and never mixing one user's answers with another's — anonymous included."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connections
from rest_framework.test import APIClient

from access import policy
from authentication.models import AccessGrant
from file_upload.tests.factories import ProjectFactory, ProjectMemberFactory, make_file, make_folder

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(make_user):
    owner, reader = make_user("owner"), make_user("reader")
    project = ProjectFactory(name="Cohort", owner=owner, access_level="restricted")
    shared = make_folder(project, "shared")
    file = make_file(project, "a.fastq", folder=shared)
    grant = AccessGrant.objects.create(
        subject_user=reader, object_type="folder", project=project, folder=shared, permission="view"
    )
    lobby = ProjectFactory(name="Lobby", owner=owner, access_level="internal")
    return {"owner": owner, "reader": reader, "project": project, "shared": shared, "file": file,
            "grant": grant, "internal": make_file(lobby, "open.fastq")}  # fmt: skip


def client(user):
    c = APIClient()
    if user is not None:
        c.force_authenticate(user)
    return c


def scope_is_empty() -> bool:
    return policy._request_reaches.get() is None and policy._request_visibility.get() is None


def test_nothing_outlives_a_read_request_even_a_streamed_or_failed_one(world):
    reader = client(world["reader"])
    assert reader.get(f"/api/files/{world['file'].id}/").status_code == 200
    assert scope_is_empty()
    download = reader.get(f"/api/files/{world['file'].id}/download/")
    assert b"".join(download.streaming_content) if download.streaming else download.content
    assert scope_is_empty()
    assert reader.get("/api/files/987654321/").status_code == 404
    assert scope_is_empty()


def test_a_revoked_grant_shows_on_the_next_request_served_by_the_same_thread(world):
    """gthread workers serve request after request on the same threads: a memo kept in the
    thread, a module or a cache would answer the second request from the first."""
    reader, file = client(world["reader"]), world["file"]
    listing = {"project": world["project"].id}

    def both() -> tuple[int, int]:
        return reader.get(f"/api/files/{file.id}/").status_code, reader.get("/api/files/", listing).json()["count"]

    with ThreadPoolExecutor(max_workers=1) as worker:  # one thread, reused like a gthread worker's
        assert worker.submit(both).result() == (200, 1)
        world["grant"].delete()
        assert worker.submit(both).result() == (404, 0)
        AccessGrant.objects.create(
            subject_user=world["reader"], object_type="file", project=world["project"], file=file, permission="view"
        )
        assert worker.submit(both).result() == (200, 1)
        worker.submit(connections.close_all).result()


def test_a_scope_belongs_to_its_own_thread(world):
    seen_elsewhere: list[bool] = []
    with policy.read_scope():
        assert policy.is_visible(world["reader"], world["file"])
        thread = threading.Thread(target=lambda: seen_elsewhere.append(scope_is_empty()))
        thread.start()
        thread.join()
    assert seen_elsewhere == [True]
    assert scope_is_empty()


def test_within_one_scope_answers_are_kept_apart_by_user_anonymous_included(world):
    file, internal = world["file"], world["internal"]
    for order in (["anonymous", "reader", "owner"], ["owner", "reader", "anonymous"]):
        with policy.read_scope():
            for who in order:
                user = {"anonymous": AnonymousUser(), "reader": world["reader"], "owner": world["owner"]}[who]
                assert policy.is_visible(user, file) is (who != "anonymous")
                assert policy.is_visible(user, internal) is (who != "anonymous")
                assert policy.is_visible(None, internal) is False  # None is anonymous too
                expected = [] if who == "anonymous" else [world["project"].id]
                assert list(policy.visible_files(user).filter(id=file.id).values_list("project_id", flat=True)) == (
                    expected
                )


def test_the_scope_is_left_with_the_block_so_a_change_is_seen_after_it(world):
    """Inside one scope an answer is kept (a read-only request sees one state of the world);
    right after it the same question is asked afresh."""
    reader, file = world["reader"], world["file"]
    with policy.read_scope():
        assert policy.is_visible(reader, file)
        world["grant"].delete()
        assert policy.is_visible(reader, file)  # the request's own, consistent view
    assert not policy.is_visible(reader, file)
    with policy.read_scope():
        assert not policy.is_visible(reader, file)


def test_permissions_in_a_listing_follow_each_files_owner_and_grants(world, make_user):
    """Files of one folder share a rank, not their permissions: an editor may delete their own
    file beside one that is not theirs, and a file with its own grant answers for itself."""
    project, shared, owner = world["project"], world["shared"], world["owner"]
    editor = make_user("editor")
    ProjectMemberFactory(project=project, user=editor, role="editor")
    mine = make_file(project, "mine.fastq", folder=shared, owner=editor)
    granted = make_file(project, "granted.fastq", folder=shared, owner=owner)
    AccessGrant.objects.create(
        subject_user=editor, object_type="file", project=project, file=granted, permission="manage"
    )

    rows = client(editor).get("/api/files/", {"folder": shared.id}).json()["results"]
    perms = {row["name"]: set(row["my_permissions"]) for row in rows}
    assert "delete" in perms["mine.fastq"] and "delete" not in perms["a.fastq"]
    assert "manage" in perms["granted.fastq"] and "manage" not in perms["a.fastq"]
    for name, expected in perms.items():
        file = next(f for f in (world["file"], mine, granted) if f.name == name)
        assert expected == set(policy.permissions_on(editor, file)), name

    # The next listing, by another user, is worked out for that user.
    rows = client(world["reader"]).get("/api/files/", {"folder": shared.id}).json()["results"]
    assert {row["name"]: row["my_permissions"] for row in rows} == {
        "a.fastq": ["view", "download"],
        "mine.fastq": ["view", "download"],
        "granted.fastq": ["view", "download"],
    }
