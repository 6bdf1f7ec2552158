"""The in-memory search index against SQL: random worlds and random queries must give the same
count, facet counts and pages both ways, and stay the same after writes the index learns about
from the change feed (without reloading), after rollbacks, and for renamed files."""

from __future__ import annotations

import random
from urllib.parse import urlencode

import numpy as np
import pytest
from django.db import connection, transaction

from authentication.services import create_grant
from file_upload import retention, search_index, services
from file_upload.models import File, Project, ProjectMember
from file_upload.tests.factories import make_file, make_folder

pytestmark = pytest.mark.django_db

ORGANISMS = ["Homo sapiens", "Mus musculus", "Danio rerio", ""]
ASSAYS = ["RNA-seq", "WGS", "scRNA-seq", ""]
TISSUES = ["liver", "brain", "blood", ""]
TAGS = ["qc-passed", "batch-7", "pilot", "liver", "Liver"]
FACETS = "organism,assay_type,tags,access_level,project,parse_status,read_length,sequencing_date"
TEXTS = ["liver", "S00", "brain", "R1", "qc-passed", "mus musculus", "fq", "zzz"]
ORDERINGS = ["", "name", "-name", "size", "-size", "-created_at", "updated_at", "relevance"]


@pytest.fixture
def world(make_user, django_user_model):
    rng = random.Random(7)
    users = [make_user(name) for name in ("ann", "ben", "cat", "dan")]
    root = django_user_model.objects.create_superuser("root", password="x")
    projects = [
        Project.objects.create(name=f"P{i}", owner=users[i % 2], access_level=level)
        for i, level in enumerate(["public", "internal", "restricted", "restricted"])
    ]
    ProjectMember.objects.create(project=projects[2], user=users[2], role="viewer")
    folders = [make_folder(p, "raw") for p in projects]
    deep = make_folder(projects[3], "deep", parent=folders[3], access_level="restricted")
    files = []
    for i in range(120):
        project = rng.choice(projects)
        folder = rng.choice([None, folders[projects.index(project)], deep if project == projects[3] else None])
        meta = {
            "organism": rng.choice(ORGANISMS),
            "assay_type": rng.choice(ASSAYS),
            "tissue": rng.choice(TISSUES),
            "sample_id": f"S{i:04d}",
        }
        if rng.random() < 0.5:
            meta["read_length"] = rng.choice([100, 150])
        if rng.random() < 0.4:
            meta["sequencing_date"] = rng.choice(["2025-01-02", "2026-03-04"])
        files.append(
            make_file(
                project,
                f"{rng.choice(['S', 's', 'lib'])}{i:03d}_{rng.choice(['R1', 'R2', 'x'])}.{rng.choice(['fq', 'bam'])}",
                content=b"A" * rng.randint(1, 50),
                folder=folder,
                owner=rng.choice(users),
                tags=rng.sample(TAGS, k=rng.randint(0, 3)),
                access_level=rng.choice(["inherit", "inherit", "public", "restricted"]),
                description=rng.choice(["", "liver biopsy", "mouse brain"]),
                **meta,
            )
        )
    create_grant(actor=users[1], subject=users[3], target=files[5], permission="view")
    create_grant(actor=projects[3].owner, subject=users[3], target=deep, permission="view")
    return {"users": [*users, root], "projects": projects, "files": files, "folders": folders, "deep": deep}


def random_params(rng: random.Random, world) -> dict:
    params: dict = {"facets": FACETS, "page_size": rng.choice([5, 50])}
    choices = {
        "organism": lambda: ",".join(rng.sample([o for o in ORGANISMS if o], k=rng.randint(1, 2))),
        "assay_type": lambda: rng.choice(ASSAYS[:-1]),
        "tissue": lambda: rng.choice(TISSUES[:-1]),
        "tags": lambda: rng.choice(TAGS),
        "tags_any": lambda: ",".join(rng.sample(TAGS, k=2)),
        "access_level": lambda: rng.choice(["public", "internal", "restricted"]),
        "project": lambda: str(rng.choice(world["projects"]).id),
        "folder": lambda: str(rng.choice(world["folders"]).id),
        "owner": lambda: rng.choice(["ann", "ben", str(world["users"][2].id)]),
        "read_length": lambda: "150",
        "sequencing_date": lambda: "2026-03-04",
        "sequencing_date_after": lambda: "2025-06-01",
        "size_min": lambda: str(rng.randint(5, 40)),
        "size_max": lambda: str(rng.randint(5, 40)),
        "parse_status": lambda: rng.choice(["pending", "done"]),
        "created_after": lambda: "2020-01-01",
    }
    for name in rng.sample(sorted(choices), k=rng.randint(0, 3)):
        params[name] = choices[name]()
    if params.get("folder") and rng.random() < 0.5:
        params["recursive"] = "true"
    if rng.random() < 0.5:
        params["q"] = rng.choice(TEXTS)
    if ordering := rng.choice(ORDERINGS):
        params["ordering"] = ordering
    if rng.random() < 0.3:
        params["page"] = 2
    return params


def both_ways(client, settings, params: dict) -> tuple[dict, dict]:
    url = "/api/files/?" + urlencode(params)
    settings.BIOFM_SEARCH_INDEX = True
    indexed = client.get(url)
    settings.BIOFM_SEARCH_INDEX = False
    plain = client.get(url)
    settings.BIOFM_SEARCH_INDEX = True
    assert indexed.status_code == plain.status_code, (params, indexed.content[:300])
    return indexed.json(), plain.json()


def summary(body: dict) -> dict:
    if "results" not in body:
        return body
    return {
        "count": body["count"],
        "ids": [f["id"] for f in body["results"]],
        "facets": body.get("facets"),
    }


def check(client_for, settings, world, rng: random.Random, queries: int) -> None:
    for user in world["users"]:
        client = client_for(user)
        for _ in range(queries):
            params = random_params(rng, world)
            indexed, plain = both_ways(client, settings, params)
            assert summary(indexed) == summary(plain), (user.username, params)


def test_random_queries_agree_with_sql(world, client_for, settings):
    check(client_for, settings, world, random.Random(1), 30)
    assert search_index._index.answered == 5 * 30  # every query answered by the index, not SQL twice


def test_anonymous_sees_public_only_both_ways(world, client, settings):
    indexed, plain = both_ways(client, settings, {"facets": "access_level"})
    assert summary(indexed) == summary(plain)
    assert [item["value"] for item in indexed["facets"]["access_level"]] == ["public"]


def test_writes_reach_the_index_without_a_reload(world, client_for, settings):
    check(client_for, settings, world, random.Random(2), 3)
    index = search_index._index
    loaded = index.loaded_in, index.checked_at
    owner = world["projects"][0].owner
    files = world["files"]
    services.update_file(files[0], actor=files[0].owner, organism="Mus musculus", tags=["pilot", "new-tag"])
    services.update_file(files[1], actor=files[1].owner, name="a-first-name.fastq", description="liver")
    services.soft_delete_file(files[2], actor=files[2].owner)
    services.soft_delete_file(files[3], actor=files[3].owner)
    retention.restore_file(File.objects.get(pk=files[3].pk), actor=files[3].owner)
    File.objects.filter(pk=files[4].pk).update(size=999, parse_status="done")  # a bulk update
    make_file(world["projects"][1], "000-newest.fastq", owner=owner, organism="Danio rerio", tags=["pilot"])
    services.update_project(world["projects"][2], actor=world["projects"][2].owner, access_level="internal")
    check(client_for, settings, world, random.Random(3), 25)
    assert search_index._index.loaded_in == loaded[0]  # kept current from the feed, not reloaded
    assert search_index._index.dirty[: search_index._index.n].any()  # renamed and new rows
    names = [f["name"] for f in client_for(owner).get("/api/files/?ordering=name&page_size=3").json()["results"]]
    assert names[0] == "000-newest.fastq"


def test_many_changes_rerank_the_names(world, client_for, settings):
    index = search_index.current(wait=True)
    for file in world["files"][:30]:
        File.objects.filter(pk=file.pk).update(name="z" + file.name)
    index.refresh()
    index._rerank()
    assert not index.dirty[: index.n][index.alive[: index.n]].any()
    check(client_for, settings, world, random.Random(4), 5)


def test_a_rolled_back_write_disappears(world, client_for, settings):
    client = client_for(world["users"][4])
    settings.BIOFM_SEARCH_INDEX = True
    before = client.get("/api/files/?q=ghost").json()["count"]
    with pytest.raises(RuntimeError), transaction.atomic():
        make_file(world["projects"][0], "ghost.fastq")
        assert client.get("/api/files/?q=ghost").json()["count"] == before + 1
        raise RuntimeError("roll back")
    assert client.get("/api/files/?q=ghost").json()["count"] == before
    assert not File.objects.filter(name="ghost.fastq").exists()


def test_identifier_fields_are_answered_by_sql(world, client_for, settings):
    client = client_for(world["users"][4])
    indexed, plain = both_ways(client, settings, {"sample_id": "S0007", "facets": "sample_id,organism"})
    assert summary(indexed) == summary(plain)
    assert indexed["count"] == 1 and {"value": "S0007", "count": 1} in indexed["facets"]["sample_id"]


def test_large_tables_load_in_the_background(world, client_for, settings):
    settings.BIOFM_SEARCH_INDEX_SYNC_ROWS = 10
    client = client_for(world["users"][0])
    if connection.vendor != "sqlite":
        pytest.skip("the background thread's connection cannot see this test's transaction")
    first = client.get("/api/files/?facets=organism").json()  # SQL answers while it loads
    assert first["count"] > 0


def test_prune_keeps_recent_changes(world, settings):
    from file_upload.models import SearchChange

    assert SearchChange.objects.exists()
    settings.BIOFM_SEARCH_CHANGE_RETENTION = 3600
    assert search_index.prune_changes() == 0
    settings.BIOFM_SEARCH_CHANGE_RETENTION = -1
    assert search_index.prune_changes() > 0
    assert not SearchChange.objects.exists()


def test_positions_when_ids_arrive_out_of_order(world, client_for, settings):
    """A transaction that commits late appends a smaller id after larger ones."""
    index = search_index.current(wait=True)
    ids = index.ids[: index.n].copy()
    reversed_rows = index.n - 1 - np.arange(index.n)
    for name in ("ids", "alive", "project", "folder", "owner", "level", "status", "size", "created", "updated"):
        column = getattr(index, name)
        column[: index.n] = column[: index.n][::-1]
    index.sorted_ids = False
    found = index._positions(ids)
    assert (found == reversed_rows).all()
    assert (index._positions(np.asarray([ids.max() + 1000])) == -1).all()


def test_a_reload_between_count_and_page_keeps_the_page_right(world, settings):
    """Another request may reload the index (row positions move) before this one takes its page."""
    from access.policy import visible_files
    from file_upload.search import IndexedResults, SearchQuery

    user = world["users"][0]
    query = SearchQuery.from_params({"organism": "Mus musculus"})
    index = search_index.current(wait=True)
    with index.lock:
        results = IndexedResults(index, user, visible_files(user), query, ("name", "id"))
    services.soft_delete_file(world["files"][0], actor=world["files"][0].owner)  # positions shift on reload
    index.load()
    expected = list(
        visible_files(user).filter(organism="Mus musculus").order_by("name", "id").values_list("id", flat=True)[:10]
    )
    assert [file.id for file in results[0:10]] == expected
