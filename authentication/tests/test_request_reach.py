"""A read-only request computes a user's reach (memberships and grants) once, however many
visibility checks it makes; the next request computes it again, so a revoked grant counts at once."""

from __future__ import annotations

import pytest

from access import policy as permissions
from authentication.models import AccessGrant
from file_upload.tests.factories import ProjectFactory, make_file

pytestmark = pytest.mark.django_db


def test_one_reach_per_read_request_and_a_fresh_one_per_request(client_for, alice, bob, monkeypatch):
    project = ProjectFactory(name="Shared", owner=alice, access_level="restricted")
    file = make_file(project, "a.fastq", b"@r\nACGT\n+\nIIII\n", organism="Homo sapiens")
    grant = AccessGrant.objects.create(subject_user=bob, object_type="project", project=project, permission="view")
    calls: list[int] = []
    real = permissions._compute_reach
    monkeypatch.setattr(permissions, "_compute_reach", lambda user: calls.append(user.pk) or real(user))
    api = client_for(bob)

    # The list and its facet counts both need bob's reach: one computation.
    listed = api.get("/api/files/?facets=organism,access_level")
    assert listed.status_code == 200 and [f["id"] for f in listed.json()["results"]] == [file.id]
    assert calls == [bob.pk]

    grant.delete()
    assert api.get("/api/files/?facets=organism").json()["count"] == 0  # revocation seen next request
    assert api.get(f"/api/files/{file.id}/").status_code == 404
    assert calls == [bob.pk] * 3


def test_outside_a_request_nothing_is_kept(alice):
    calls: list[int] = []
    real = permissions._compute_reach
    permissions._compute_reach = lambda user: calls.append(user.pk) or real(user)
    try:
        list(permissions.visible_files(alice))
        list(permissions.visible_files(alice))
    finally:
        permissions._compute_reach = real
    assert calls == [alice.pk, alice.pk]
