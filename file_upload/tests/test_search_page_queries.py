"""A page of search results costs the same few queries however many folders and projects its
files sit in: the page's folders come with it, and every file's ``my_permissions`` is answered
from the caller's reach (roles and grants, read once per request), not asked per folder."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from authentication.models import AccessGrant
from file_upload.models import Project
from file_upload.tests.factories import ProjectFactory, ProjectMemberFactory, make_file, make_folder

pytestmark = pytest.mark.django_db

FACETS = "organism,assay_type,tags,access_level"
# Authentication aside, a search page asks for: the caller's reach (2), on the index the feed
# position, its own freshness check and the folders under a granted one, the page of files, and
# on SQL the facet and count pass; the tests' inline index writer adds its look at the feed
# (7 at most on SQLite, 10 on PostgreSQL; before, 27 for 2 folders and 77 for 12 on SQLite).
MOST_QUERIES = 10


def spread(project: Project, folders: int, files: int, bob) -> None:
    """``files`` files over ``folders`` folders (some nested) of ``project``; bob holds a grant
    on one folder and on one file."""
    made = []
    for i in range(folders):
        parent = made[-1] if i % 3 == 2 else None
        made.append(make_folder(project, f"f{i}", parent=parent))
    places = [None, *made]
    stored = [
        make_file(project, f"{project.name}-{i:03d}.fastq", folder=places[i % len(places)], organism="Homo sapiens")
        for i in range(files)
    ]
    AccessGrant.objects.create(
        subject_user=bob, object_type="folder", project=project, folder=made[-1], permission="manage"
    )
    AccessGrant.objects.create(subject_user=bob, object_type="file", project=project, file=stored[1], permission="edit")


def queries_for(client, url: str) -> tuple[int, dict]:
    client.get(url)  # the index catches up with the writes above first (inline writer)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured), response


@pytest.mark.parametrize("backend", ["tantivy", "sql"])
def test_a_search_page_costs_the_same_queries_for_two_folders_or_twelve(
    backend, settings, alice, bob, make_user, client_for
):
    settings.BIOFM_SEARCH_BACKEND = backend
    few = ProjectFactory(name="Few", owner=alice, access_level="restricted")
    many = ProjectFactory(name="Many", owner=alice, access_level="restricted")
    for project in (few, many):
        ProjectMemberFactory(project=project, user=bob, role="viewer")
    spread(few, 2, 50, bob)
    spread(many, 12, 50, bob)
    carol = make_user("carol")  # a plain signed-in user, no role: sees nothing of these
    counts = {}
    for user in (alice, bob, carol):
        client = client_for(user)
        for project in (few, many):
            url = f"/api/files/?project={project.id}&page_size=50&facets={FACETS}&ordering=name"
            counts[user.username, project.name], response = queries_for(client, url)
            assert response["X-Search-Backend"] == backend
            body = response.json()
            assert body["count"] == (0 if user is carol else 50)
            if user is bob:  # the grants show, per file, as the policy answers for one object
                detail = {
                    row["id"]: client.get(f"/api/files/{row['id']}/").json()["my_permissions"]
                    for row in body["results"]
                }
                assert {row["id"]: row["my_permissions"] for row in body["results"]} == detail
                assert len({tuple(perms) for perms in detail.values()}) == 3  # role, folder grant, file grant
    for user in ("alice", "bob", "carol"):
        assert counts[user, "Few"] == counts[user, "Many"], counts
        assert counts[user, "Many"] <= MOST_QUERIES, counts
