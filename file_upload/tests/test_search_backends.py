"""The tantivy backend against the SQL backend (the reference): random queries by several users
give the same count, facet counts and page of ids both ways, between rounds of writes, moves,
grant changes and deletes; and every answer the index gave was the index's, not SQL's."""

from __future__ import annotations

import random
from urllib.parse import urlencode

import pytest

from authentication.models import AccessGrant
from authentication.services import create_grant, delete_grant
from file_upload import retention, services
from file_upload.models import File
from file_upload.search import backends
from file_upload.tests.factories import make_file, make_folder
from file_upload.tests.test_search_index import random_params, summary, world  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def both_backends(client, settings, params: dict) -> tuple[dict, dict]:
    url = "/api/files/?" + urlencode(params)
    settings.BIOFM_SEARCH_BACKEND = "tantivy"
    indexed = client.get(url)
    settings.BIOFM_SEARCH_BACKEND = "sql"
    plain = client.get(url)
    assert indexed.status_code == plain.status_code, (params, indexed.content[:300])
    return indexed.json(), plain.json()


def compare(client_for, settings, world, rng: random.Random, queries: int) -> None:  # noqa: F811
    for user in world["users"]:
        client = client_for(user)
        for _ in range(queries):
            params = random_params(rng, world)
            indexed, plain = both_backends(client, settings, params)
            assert summary(indexed) == summary(plain), (user.username, params)


def test_backends_agree_through_writes_moves_grants_and_deletes(world, client_for, settings):  # noqa: F811
    rng = random.Random(11)
    before = backends.IndexBackend.answered
    compare(client_for, settings, world, rng, 12)
    assert backends.IndexBackend.answered - before == 5 * 12  # the index answered every one
    files, users, projects = world["files"], world["users"], world["projects"]
    # writes
    services.update_file(files[0], actor=files[0].owner, organism="Mus musculus", tags=["pilot", "new-tag"])
    services.update_file(files[1], actor=files[1].owner, name="a-first-name.fastq", description="liver lobe")
    File.objects.filter(pk=files[4].pk).update(size=999, parse_status="done")  # a bulk update
    make_file(projects[1], "000-newest.fastq", owner=users[0], organism="Danio rerio", tags=["pilot"])
    compare(client_for, settings, world, rng, 6)
    # moves: a file into another folder, a folder under another
    services.update_file(files[7], actor=users[4], folder=world["folders"][projects.index(files[7].project)])
    target = make_folder(projects[3], "moved-here")
    services.update_folder(world["deep"], actor=users[4], parent=target)
    compare(client_for, settings, world, rng, 6)
    # grant changes: a new folder grant, a revoked file grant, a level change
    create_grant(actor=users[4], subject=users[2], target=world["folders"][3], permission="view")
    for grant in AccessGrant.objects.filter(file=files[5]):
        delete_grant(grant, actor=users[4])
    services.update_project(projects[2], actor=projects[2].owner, access_level="internal")
    compare(client_for, settings, world, rng, 6)
    # deletes and a restore
    services.soft_delete_file(files[2], actor=files[2].owner)
    services.soft_delete_file(files[3], actor=files[3].owner)
    retention.restore_file(File.objects.get(pk=files[3].pk), actor=files[3].owner)
    compare(client_for, settings, world, rng, 6)


def test_deep_pages_and_ties_agree(world, client_for, settings):  # noqa: F811
    """Many files sharing a name or a size: the page boundary falls inside a tie."""
    project = world["projects"][0]
    for i in range(30):
        folder = make_folder(project, f"run{i}")
        make_file(project, "R1.fastq", folder=folder, content=b"A" * (i % 3 + 1), owner=world["users"][0])
    client = client_for(world["users"][4])
    for ordering in ("name", "-name", "size", "-size", "relevance"):
        for page in (1, 2, 3, 7):
            params = {"ordering": ordering, "page_size": 7, "page": page, "q": "r1"}
            indexed, plain = both_backends(client, settings, params)
            assert summary(indexed) == summary(plain), params


def test_a_rolled_back_write_disappears(world, client_for, settings):  # noqa: F811
    from django.db import transaction

    client = client_for(world["users"][4])
    settings.BIOFM_SEARCH_BACKEND = "tantivy"
    before = client.get("/api/files/?q=ghost").json()["count"]
    with pytest.raises(RuntimeError), transaction.atomic():
        make_file(world["projects"][0], "ghost.fastq")
        assert client.get("/api/files/?q=ghost").json()["count"] == before + 1
        raise RuntimeError("roll back")
    assert client.get("/api/files/?q=ghost").json()["count"] == before
