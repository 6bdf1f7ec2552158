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
from file_upload.tests.factories import ProjectFactory, ProjectMemberFactory, UserFactory, make_file, make_folder

pytestmark = pytest.mark.django_db

ORGANISMS = ["Homo sapiens", "Mus musculus", "Danio rerio", ""]
ASSAYS = ["RNA-seq", "WGS", "scRNA-seq", ""]
TISSUES = ["liver", "brain", "blood", ""]
TAGS = ["qc-passed", "batch-7", "pilot", "liver", "Liver"]
FACETS = "organism,assay_type,tags,access_level,project,parse_status,read_length,sequencing_date"
TEXTS = ["liver", "S00", "brain", "R1", "qc-passed", "mus musculus", "fq", "zzz"]
ORDERINGS = ["", "name", "-name", "size", "-size", "-created_at", "updated_at", "relevance"]


@pytest.fixture
def world(make_user):
    rng = random.Random(7)
    users = [make_user(name) for name in ("ann", "ben", "cat", "dan")]
    root = UserFactory(username="root", password="x", superuser=True)
    projects = [
        ProjectFactory(name=f"P{i}", owner=users[i % 2], access_level=level)
        for i, level in enumerate(["public", "internal", "restricted", "restricted"])
    ]
    ProjectMemberFactory(project=projects[2], user=users[2], role="viewer")
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


def summary(body: dict) -> dict:
    if "results" not in body:
        return body
    return {
        "count": body["count"],
        "ids": [f["id"] for f in body["results"]],
        "facets": body.get("facets"),
    }


def both_backends(client, settings, params: dict, index_answers: bool = True) -> tuple[dict, dict]:
    """The same request answered by the index and by SQL alone; with ``index_answers`` the index
    must have answered it itself (a fallback to SQL would compare SQL with SQL)."""
    url = "/api/files/?" + urlencode(params)
    settings.BIOFM_SEARCH_BACKEND = "tantivy"
    indexed = client.get(url)
    settings.BIOFM_SEARCH_BACKEND = "sql"
    plain = client.get(url)
    assert indexed.status_code == plain.status_code, (params, indexed.content[:300])
    if index_answers and indexed.status_code == 200:
        assert indexed["X-Search-Backend"] == "tantivy", params
    return indexed.json(), plain.json()


def rebuilt_without_writer(settings, **search_settings) -> None:
    """The index rebuilt now and then left as it is (no request applies the feed), with the
    given ``BIOFM_SEARCH_*`` settings (``SHARDS=2``)."""
    from django.core.management import call_command

    settings.BIOFM_SEARCH_BACKEND = "tantivy"
    settings.BIOFM_SEARCH_INLINE_WRITER = False
    for name, value in search_settings.items():
        setattr(settings, f"BIOFM_SEARCH_{name}", value)
    call_command("rebuild_search_index")


def compare(client_for, settings, world, rng: random.Random, queries: int) -> None:
    for user in world["users"]:
        client = client_for(user)
        for _ in range(queries):
            params = random_params(rng, world)
            indexed, plain = both_backends(client, settings, params)
            assert summary(indexed) == summary(plain), (user.username, params)


@pytest.mark.parametrize("shards", [1, 2, 3])
def test_backends_agree_through_writes_moves_grants_and_deletes(world, client_for, settings, shards):
    settings.BIOFM_SEARCH_SHARDS = shards
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


@pytest.mark.parametrize(
    ("share", "steps", "many_names"),
    [(10**6, 2, 64), (4, 2, 10**9), (1, 1000, 0)],
    ids=["whole-after-edge", "steps", "steps-over-every-slice"],
)
def test_pages_read_slice_by_slice_agree(world, client_for, settings, monkeypatch, share, steps, many_names):
    """Pages read slice by slice (``engine.Slicing``): with slices of a few files each, every
    order's page (by name, size, moments, relevance), in both directions, is the reference's,
    whether the page is read from the edge's slices alone, with one more step or as a whole,
    with a relevance page's name tiers read by slices for every text, for none or by how many
    names hold it (``MANY_NAMES``), before and after files are added beyond the edges and others
    renamed, resized or deleted."""
    from file_upload.search import engine

    monkeypatch.setattr(backends, "MANY_NAMES", many_names)
    monkeypatch.setattr(engine, "ID_SLICE_SHIFT", 2)
    monkeypatch.setattr(engine, "MOMENT_SLICE_SHIFT", 8)
    monkeypatch.setattr(backends, "SLICE_SHARE", share)
    monkeypatch.setattr(backends, "SLICE_STEPS", steps)
    read: list[str] = []
    range_query = backends.Q.range_query

    def watched(schema, field_name, *args, **kwargs):
        read.append(field_name)
        return range_query(schema, field_name, *args, **kwargs)

    monkeypatch.setattr(backends.Q, "range_query", watched)
    rng = random.Random(41)
    files, users, projects = world["files"], world["users"], world["projects"]

    def agree(rounds: int) -> None:
        for user in users:
            client = client_for(user)
            for _ in range(rounds):
                params = {"page_size": rng.choice([3, 5, 20]), "ordering": rng.choice(ORDERINGS[1:] + ["-updated_at"])}
                if rng.random() < 0.5 or params["ordering"] == "relevance":
                    params["q"] = rng.choice(TEXTS)
                if rng.random() < 0.3:
                    params["organism"] = rng.choice(ORGANISMS[:-1])
                indexed, plain = both_backends(client, settings, params)
                assert summary(indexed) == summary(plain), (user.username, params)

    agree(8)
    assert {"name_slice", "size_slice", "created_slice", "updated_slice", "id_slice"} <= set(read)
    services.update_file(files[0], actor=files[0].owner, name="zzzz-last.fq")
    services.update_file(files[1], actor=files[1].owner, name="!first.fq")
    File.objects.filter(pk=files[4].pk).update(size=10**12)
    for i in range(6):
        make_file(projects[i % 2], f"{'0' if i % 2 else '~'}new{i}.fq", owner=users[0], content=b"C" * (60 + i))
    services.soft_delete_file(files[2], actor=files[2].owner)
    agree(8)


@pytest.mark.parametrize("lagging", [False, True], ids=["index-current", "index-lagging"])
def test_backends_agree_through_random_changes(world, client_for, settings, lagging):
    """A seeded random sequence of edits, uploads, moves, grant and level changes, deletes and
    restores; after each, random queries by every user agree on both backends. Lagging: no
    writer applies the changes, so the index answers every search with the changed files read
    from SQL (its overlay)."""
    rng = random.Random(23)
    if lagging:
        from django.core.management import call_command

        settings.BIOFM_SEARCH_INLINE_WRITER = False
        call_command("rebuild_search_index")
    overlaid = backends.IndexBackend.overlaid_answers
    users, projects, root = world["users"], world["projects"], world["users"][4]
    folders = [*world["folders"], world["deep"]]

    def live() -> list[File]:
        return list(File.objects.alive().order_by("id"))

    def edit() -> None:
        file = rng.choice(live())
        changes = {"organism": rng.choice(ORGANISMS), "tags": rng.sample(TAGS, k=rng.randint(0, 2))}
        if rng.random() < 0.3:
            changes["name"] = f"renamed-{rng.randint(0, 999)}_R1.fq"
        services.update_file(file, actor=root, **changes)

    def upload() -> None:
        project = rng.choice(projects)
        make_file(project, f"up{rng.randint(0, 9999)}.fq", owner=rng.choice(users[:4]), tissue=rng.choice(TISSUES))

    def move() -> None:
        file = rng.choice(live())
        target = rng.choice([f for f in folders if f.project_id == file.project_id] or [None])
        services.update_file(file, actor=root, folder=target)

    def grant() -> None:
        existing = list(AccessGrant.objects.all())
        if existing and rng.random() < 0.5:
            delete_grant(rng.choice(existing), actor=root)
        else:
            target = rng.choice([rng.choice(live()), rng.choice(folders), rng.choice(projects)])
            create_grant(actor=root, subject=rng.choice(users[:4]), target=target, permission="view")

    def level() -> None:
        if rng.random() < 0.5:
            project = rng.choice(projects)
            services.update_project(project, actor=root, access_level=rng.choice(["public", "internal", "restricted"]))
        else:
            services.update_file(rng.choice(live()), actor=root, access_level=rng.choice(["inherit", "restricted"]))

    def delete() -> None:
        gone = list(File.objects.filter(deleted_at__isnull=False))
        if gone and rng.random() < 0.4:
            retention.restore_file(rng.choice(gone), actor=root)
        else:
            services.soft_delete_file(rng.choice(live()), actor=root)

    for _ in range(8):
        change = rng.choice([edit, upload, move, grant, level, delete])
        change()
        for project in projects:
            project.refresh_from_db()
        for folder in folders:
            folder.refresh_from_db()
        compare(client_for, settings, world, rng, 2)
    # Grant and level changes alone touch no file row; every other change leaves an overlay.
    assert (backends.IndexBackend.overlaid_answers - overlaid > 0) == lagging


def test_the_count_by_each_facet_alone_agrees(world, client_for, settings):
    """With no facet's own filter in use, the count is what a facet with one value per file
    adds up to (files without the value included, as the empty text), else the matches' ids
    counted: each facet alone, with and without other filters, counts like SQL."""
    from file_upload.search import declarations

    client = client_for(world["users"][4])
    for name in sorted(declarations.INDEX_FACETS):
        for extra in ({}, {"q": "liver"}, {"size_min": "20"}, {"q": "zzz"}):
            indexed, plain = both_backends(client, settings, {"facets": name, **extra})
            assert summary(indexed) == summary(plain), (name, extra)


def test_term_sets_and_unions_of_terms_agree(world, client_for, settings, monkeypatch):
    """A field's values are a union of term queries up to ``UNION_TERMS`` and a term set beyond:
    both forms answer alike, with a caller granted more files than the union takes."""
    for file in world["files"][20:90]:
        if not AccessGrant.objects.filter(file=file, subject_user=world["users"][3]).exists():
            create_grant(actor=world["users"][4], subject=world["users"][3], target=file, permission="view")
    for bound in (1, backends.UNION_TERMS):
        monkeypatch.setattr(backends, "UNION_TERMS", bound)
        compare(client_for, settings, world, random.Random(bound), 12)


@pytest.mark.parametrize("shards", [1, 2, 3])
def test_deep_pages_and_ties_agree(world, client_for, settings, shards):
    """Many files sharing a name or a size: the page boundary falls inside a tie, on one shard
    or across several (a shard's hits beyond the page's start are merged with the others')."""
    settings.BIOFM_SEARCH_SHARDS = shards
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


def test_pages_by_name_agree_where_names_share_their_first_bytes(world, client_for, settings):
    """Pages by name are a top-N by the name's first 8 bytes, then the exact order among names
    that share them: long shared prefixes, equal names, names shorter than 8 bytes,
    multi-byte characters, every page boundary, both directions."""
    project = world["projects"][0]
    rng = random.Random(11)
    stems = ["SRR1234567", "SRR1234568", "sample_0001", "sample_00", "ab", "ab!", "Åström_", "Åström", "zz"]
    for i in range(60):
        folder = make_folder(project, f"lane{i}")
        name = f"{rng.choice(stems)}{rng.choice(['', '_1', '_2', '.fq', '_1.fq'])}"
        make_file(project, name, folder=folder, owner=world["users"][0])
    client = client_for(world["users"][4])
    for ordering in ("name", "-name"):
        for page_size in (1, 4, 9, 50):
            for page in range(1, 70 // page_size + 2):
                params = {"ordering": ordering, "page_size": page_size, "page": page, "project": project.id}
                indexed, plain = both_backends(client, settings, params)
                assert summary(indexed) == summary(plain), params


def test_the_page_is_searched_beside_the_facets(world, client_for, settings, monkeypatch):
    """A page-number request's ids are searched for on another thread while the facets are
    counted (``page_soon``), not asked for again when the paginator slices; the last page,
    which needs the count first, is asked for after it."""
    client = client_for(world["users"][4])
    params = {"page": 2, "page_size": 7, "ordering": "-size", "facets": "organism", "q": "fq"}
    indexed, plain = both_backends(client, settings, params)
    assert summary(indexed) == summary(plain)

    asked = []
    page = backends.IndexBackend.page
    monkeypatch.setattr(backends.IndexBackend, "page", lambda *args: asked.append(args[4:]) or page(*args))
    settings.BIOFM_SEARCH_BACKEND = "tantivy"
    response = client.get("/api/files/", params)
    assert response["X-Search-Backend"] == "tantivy"
    assert summary(response.json()) == summary(indexed) and asked == []
    last = client.get("/api/files/", {**params, "page": "last"})
    assert last["X-Search-Backend"] == "tantivy" and len(asked) == 1
    settings.BIOFM_SEARCH_BACKEND = "sql"
    assert summary(last.json()) == summary(client.get("/api/files/", {**params, "page": "last"}).json())
    # a page number far past the last is not searched for before the count says it is not there
    searched = []
    page_of = backends.IndexBackend._page_of
    monkeypatch.setattr(backends.IndexBackend, "_page_of", lambda *args: searched.append(args[4:]) or page_of(*args))
    settings.BIOFM_SEARCH_BACKEND = "tantivy"
    answered = backends.IndexBackend.answered
    far = client.get("/api/files/", {**params, "page": 2**31 - 1, "page_size": 500})
    assert far.status_code == 404 and backends.IndexBackend.answered == answered + 1 and searched == []


def test_a_search_with_no_match_does_not_wait_for_its_page(world, client_for, settings, monkeypatch):
    """The page searched for beside the facets is not waited for when the count says there is
    nothing to show: a search matching no file answers while its page search is still busy."""
    import threading

    release, finished = threading.Event(), []
    page_of = backends.IndexBackend._page_of

    def slow_page_of(*args):
        release.wait(timeout=10)
        finished.append(release.is_set())
        return page_of(*args)

    monkeypatch.setattr(backends.IndexBackend, "_page_of", slow_page_of)
    settings.BIOFM_SEARCH_BACKEND = "tantivy"
    client = client_for(world["users"][4])
    try:
        empty = client.get("/api/files/", {"q": "no-file-is-called-this", "facets": "organism"})
        assert empty["X-Search-Backend"] == "tantivy" and empty.json()["count"] == 0
        assert empty.json()["results"] == [] and finished == []  # its page search is still busy
    finally:
        release.set()
    found = client.get("/api/files/", {"page_size": 3, "ordering": "name"})
    assert found["X-Search-Backend"] == "tantivy" and len(found.json()["results"]) == 3


def test_the_page_is_loaded_and_shown_while_the_facets_are_counted(world, client_for, settings, monkeypatch):
    """When the page is found before the count, its files are read from the database and
    serialized while the index is still counting, once: the aggregation here returns only once
    the page's first file has been shown (or after 5 s, which would leave ``shown_first``
    false), and no file is shown twice."""
    import threading

    from file_upload.serializers import FileSerializer

    shown, shown_first = threading.Event(), []
    aggregate, represent = backends.aggregate, FileSerializer.to_representation
    represented = []

    def slow_aggregate(*args):
        shown_first.append(shown.wait(timeout=5))
        return aggregate(*args)

    def show(self, file):
        represented.append(file.id)
        shown.set()
        return represent(self, file)

    monkeypatch.setattr(backends, "aggregate", slow_aggregate)
    monkeypatch.setattr(FileSerializer, "to_representation", show)
    client = client_for(world["users"][4])
    params = {"page_size": 4, "ordering": "name", "facets": "organism,access_level"}
    indexed, plain = both_backends(client, settings, params)
    assert shown_first == [True]
    assert summary(indexed) == summary(plain) and len(indexed["results"]) == 4
    # each file of the index's page shown once, then SQL's response's
    assert represented == [file["id"] for file in indexed["results"] + plain["results"]]


@pytest.mark.parametrize("backend", ["tantivy", "sql"])
def test_bad_pages_are_refused_alike(world, client_for, settings, backend):
    """The page's slice is worked out before the search (``page_window``): a bad ``page`` or
    ``page_size`` is the same 400 naming it on either backend, a page past the last a 404."""
    settings.BIOFM_SEARCH_BACKEND = backend
    client = client_for(world["users"][4])
    for params, name in (({"page": "0"}, "page"), ({"page": "x"}, "page"), ({"page_size": "501"}, "page_size")):
        response = client.get("/api/files/", {**params, "facets": "organism"})
        assert response.status_code == 400 and name in response.json()["errors"], (params, response.json())
    assert client.get("/api/files/", {"page": 999, "facets": "organism"}).status_code == 404
    last = client.get("/api/files/", {"page": "last", "page_size": 7})
    assert last.status_code == 200 and 0 < len(last.json()["results"]) <= 7


def test_a_rolled_back_write_disappears(world, client_for, settings):
    from django.db import transaction

    client = client_for(world["users"][4])
    settings.BIOFM_SEARCH_BACKEND = "tantivy"
    before = client.get("/api/files/?q=ghost").json()["count"]
    with pytest.raises(RuntimeError), transaction.atomic():
        make_file(world["projects"][0], "ghost.fastq")
        assert client.get("/api/files/?q=ghost").json()["count"] == before + 1
        raise RuntimeError("roll back")
    assert client.get("/api/files/?q=ghost").json()["count"] == before


def test_anonymous_sees_public_only_both_ways(world, client, settings):
    indexed, plain = both_backends(client, settings, {"facets": "access_level"})
    assert summary(indexed) == summary(plain)
    assert [item["value"] for item in indexed["facets"]["access_level"]] == ["public"]


def test_identifier_facets_are_answered_by_sql(world, client_for, settings):
    client = client_for(world["users"][4])
    params = {"sample_id": "S0007", "facets": "sample_id,organism"}
    indexed, plain = both_backends(client, settings, params, index_answers=False)
    assert summary(indexed) == summary(plain)
    assert indexed["count"] == 1 and {"value": "S0007", "count": 1} in indexed["facets"]["sample_id"]
    # an identifier as a filter only: the index answers
    settings.BIOFM_SEARCH_BACKEND = "tantivy"
    response = client.get("/api/files/?sample_id=S0007&facets=organism")
    assert response["X-Search-Backend"] == "tantivy" and response.json()["count"] == 1


def test_prune_keeps_recent_changes(world, settings):
    from file_upload.models import SearchChange
    from file_upload.search import feed

    assert SearchChange.objects.exists()
    settings.BIOFM_SEARCH_CHANGE_RETENTION = 3600
    assert feed.prune_changes() == 0
    settings.BIOFM_SEARCH_CHANGE_RETENTION = -1
    assert feed.prune_changes() > 0
    assert not SearchChange.objects.exists()


def test_an_index_of_another_schema_is_not_read_and_gets_rebuilt(world, client_for, settings, tmp_path):
    from django.core.management import call_command

    from file_upload.search import engine

    settings.BIOFM_SEARCH_BACKEND = "tantivy"
    settings.BIOFM_SEARCH_INLINE_WRITER = False
    client = client_for(world["users"][4])
    assert client.get("/api/files/")["X-Search-Backend"] == "sql"  # no index yet: SQL answers
    call_command("rebuild_search_index", "--if-needed")
    assert client.get("/api/files/")["X-Search-Backend"] == "tantivy"
    (engine.index_dir() / "biofm-schema.json").write_text('{"signature": "older"}')
    assert client.get("/api/files/")["X-Search-Backend"] == "sql"
    call_command("rebuild_search_index", "--if-needed")
    response = client.get("/api/files/?facets=organism")
    assert response["X-Search-Backend"] == "tantivy"
    settings.BIOFM_SEARCH_BACKEND = "sql"
    assert summary(client.get("/api/files/?facets=organism").json()) == summary(response.json())


def test_an_index_built_from_another_database_is_not_read_and_gets_rebuilt(world, client_for, settings):
    """A process started with another ``DATABASE_URL`` than the one its node's index was built
    from: its searches are not answered from that index (they would count the other database's
    files), and its writer rebuilds the index from its own database instead of applying its own
    feed on top of the other's files."""
    import json

    from django.core.management import call_command

    from file_upload.search import engine

    rebuilt_without_writer(settings)
    client = client_for(world["users"][4])
    assert client.get("/api/files/")["X-Search-Backend"] == "tantivy"
    schema = engine.index_dir() / "biofm-schema.json"
    signature = json.loads(schema.read_text())["signature"]
    assert signature.startswith(engine.schema_signature() + "@")
    other = engine.schema_signature() + "@" + "0" * 12  # the same layout, another database
    schema.write_text(json.dumps({"signature": other}))
    assert client.get("/api/files/")["X-Search-Backend"] == "sql"
    call_command("rebuild_search_index", "--if-needed")
    assert json.loads(schema.read_text())["signature"] == signature
    response = client.get("/api/files/?facets=organism")
    assert response["X-Search-Backend"] == "tantivy"
    settings.BIOFM_SEARCH_BACKEND = "sql"
    assert summary(client.get("/api/files/?facets=organism").json()) == summary(response.json())


def test_a_request_never_answers_from_an_index_behind_it(world, client_for, settings):
    """No writer running: after a write the index is behind. Within the overlay's bound the
    index answers with the new file read from SQL; beyond it SQL answers (after the wait)."""
    from django.core.management import call_command

    rebuilt_without_writer(settings, FRESHNESS_WAIT=0.1)
    client = client_for(world["users"][4])
    assert client.get("/api/files/?q=brandnew")["X-Search-Backend"] == "tantivy"
    make_file(world["projects"][0], "brandnew.fastq", owner=world["users"][0])
    overlaid = backends.IndexBackend.overlaid_answers
    response = client.get("/api/files/?q=brandnew&facets=organism")
    assert response["X-Search-Backend"] == "tantivy" and response.json()["count"] == 1
    assert response.json()["results"][0]["name"] == "brandnew.fastq"
    assert backends.IndexBackend.overlaid_answers == overlaid + 1
    settings.BIOFM_SEARCH_OVERLAY_CHANGES = 0
    response = client.get("/api/files/?q=brandnew")
    assert response["X-Search-Backend"] == "sql" and response.json()["count"] == 1
    call_command("search_index_writer", "--once")
    response = client.get("/api/files/?q=brandnew")
    assert response["X-Search-Backend"] == "tantivy" and response.json()["count"] == 1
    assert backends.IndexBackend.overlaid_answers == overlaid + 1


def test_a_commit_answers_a_search_once(world, client_for, settings):
    """A search's counts and facets are the index's answer for its commit: the same search in
    another order or page size takes them from the process's answers; another user's same
    search is answered for that user; after the writer's next commit the search is answered
    afresh; with ``BIOFM_SEARCH_ANSWER_CACHE=0`` nothing is kept."""
    from django.core.management import call_command

    rebuilt_without_writer(settings)
    ann, dan = world["users"][0], world["users"][3]
    params = {"q": "liver", "facets": FACETS}
    url = "/api/files/?" + urlencode(params)
    first = client_for(ann).get(url).json()
    hits = backends.ANSWERS.hits
    again = client_for(ann).get(url + "&ordering=-size&page_size=3").json()
    assert backends.ANSWERS.hits == hits + 1
    assert (again["count"], again["facets"]) == (first["count"], first["facets"]) and first["count"] > 3
    theirs, plain = both_backends(client_for(dan), settings, params)
    assert summary(theirs) == summary(plain) and theirs["count"] != first["count"]
    make_file(world["projects"][0], "liver-new.fq", owner=ann, organism="Danio rerio")
    call_command("search_index_writer", "--once")
    settings.BIOFM_SEARCH_BACKEND = "tantivy"
    after = client_for(ann).get(url)
    assert after["X-Search-Backend"] == "tantivy" and after.json()["count"] == first["count"] + 1

    def danio(body: dict) -> int:
        return sum(item["count"] for item in body["facets"]["organism"] if item["value"] == "Danio rerio")

    assert danio(after.json()) == danio(first) + 1
    settings.BIOFM_SEARCH_ANSWER_CACHE = 0
    hits = backends.ANSWERS.hits
    client_for(ann).get(url)
    client_for(ann).get(url)
    assert backends.ANSWERS.hits == hits


def test_answer_keys_tell_queries_apart(world):
    """The answers' key is the query's description (tantivy's): queries that differ in one term,
    term set, bound, field, offset, pattern, occurrence or left-out file are described apart (a
    key that hid one would hand one user's counts to another), and one query built twice is
    described alike (else nothing would be found again)."""
    import tantivy

    from file_upload.search import engine

    schema, integer, q = engine.SCHEMA, tantivy.FieldType.Integer, tantivy.Query
    public = backends._term("access_level", "public")
    pairs = [
        (backends._terms("project", [1, 2]), backends._terms("project", [1, 3])),
        (backends._terms("id", list(range(100))), backends._terms("id", list(range(1, 101)))),
        (q.range_query(schema, "size", integer, 5, None), q.range_query(schema, "size", integer, 6, None)),
        (
            q.range_query(schema, "size", integer, None, 5),
            q.range_query(schema, "size", integer, None, 5, include_upper=False),
        ),
        (q.range_query(schema, "size", integer, 5, None), q.range_query(schema, "updated_at", integer, 5, None)),
        (backends.name_contains("abcdefghij"), backends.name_contains("abcdefghik")),
        (backends.name_contains("abcdefghijk"), backends.name_contains("abcdefghij")),
        (backends.name_contains("a."), backends.name_contains("a\\")),
        (backends._files([public]), backends._files([public], [7])),
        (backends._files([public], [7]), backends._files([public], [8])),
        (
            q.boolean_query([(tantivy.Occur.Must, public), (tantivy.Occur.MustNot, backends._term("owner", 1))]),
            q.boolean_query([(tantivy.Occur.MustNot, public), (tantivy.Occur.Must, backends._term("owner", 1))]),
        ),
        (backends.visibility_query(world["users"][0]), backends.visibility_query(world["users"][3])),
    ]
    for one, other in pairs:
        assert repr(one) != repr(other)
    for user in world["users"][:4]:
        assert repr(backends.visibility_query(user)) == repr(backends.visibility_query(user))


def test_a_rebuild_answers_like_sql(world, client_for, settings):
    """The index as ``rebuild_search_index`` writes it (the bulk path on PostgreSQL), with no
    writer after it: every user's random queries agree with SQL, answered by the index."""
    from django.core.management import call_command

    files = world["files"]
    File.objects.filter(pk=files[8].pk).update(name="Größe_Ærø-Ǆ_R1.fq", tags=["Straße", "x\ty"])
    File.objects.filter(pk=files[9].pk).update(tags=["liver", "Leber"], description="tab\there")
    File.objects.filter(pk=files[10].pk).update(tags=[], read_length=0, size=0, sequencing_date=None)
    # A tag twice counts twice, as SQL's grouping counts it; no organism counts nowhere.
    File.objects.filter(pk=files[11].pk).update(tags=["pilot", "Straße", "pilot"], organism="", tissue="")
    settings.BIOFM_SEARCH_INLINE_WRITER = False
    call_command("rebuild_search_index")
    before = backends.IndexBackend.answered
    compare(client_for, settings, world, random.Random(31), 10)
    assert backends.IndexBackend.answered - before == 5 * 10
    for params in (
        {"q": "größe"},
        {"tags": "Straße", "facets": FACETS},
        {"tags_any": "pilot,Straße", "facets": FACETS + ",tissue"},
        {"q": "here"},
        {"read_length": "0", "facets": FACETS},
    ):
        indexed, plain = both_backends(client_for(world["users"][4]), settings, params)
        assert summary(indexed) == summary(plain) and indexed["count"] >= 1, params


def test_bulk_documents_are_the_documents_of_the_rows(world):
    """On PostgreSQL a rebuild builds each document from ``COPY`` text: field for field the
    document the feed's writer builds from the same row."""
    import json

    from django.db import connection

    from file_upload.search import engine, feed

    if connection.vendor != "postgresql":
        pytest.skip("the bulk path is PostgreSQL's")
    files = world["files"]
    File.objects.filter(pk=files[8].pk).update(name="İstanbul_ẞ-Ǆ_R1.fq", tags=["Straße", "", "x\ty"])
    File.objects.filter(pk=files[9].pk).update(tags=[5, True, 1.5, None, 1e20], description="tab\there\\n")
    File.objects.filter(pk=files[10].pk).update(tags={"not": "a list"}, read_length=0, size=0, sequencing_date=None)
    File.objects.filter(pk=files[11].pk).update(organism="", taxon_id=None, sequencing_date="0005-03-01")
    expected = {
        values["id"]: engine.document_fields(values)
        for values in (dict(zip(engine.ROW_COLUMNS, row, strict=True)) for row in feed._rows(None))
    }
    bulk = [(file_id, json.loads(text)) for file_id, text in feed._bulk_rows()]
    assert {doc["id"]: doc for _, doc in bulk} == expected
    assert all(file_id == doc["id"] for file_id, doc in bulk)
    assert len(bulk) == File.objects.alive().count()


def test_facet_filters_with_query_language_characters_agree(world, client_for, settings):
    """The facets' own filters go into the index's filter buckets as text in its query language:
    values with quotes, backslashes, colons, brackets, operators and wildcards count exactly."""
    odd = ['say "hi"', "back\\slash", "a:b (c) AND d", "x* OR y", "[1 TO 2]", "-minus", "ü ß"]
    project = world["projects"][0]
    for i, value in enumerate(odd):
        for copy in range(i % 3 + 1):
            make_file(
                project,
                f"odd{i}-{copy}.fq",
                owner=world["users"][0],
                organism=value,
                tissue=odd[(i + copy) % len(odd)],
                tags=[odd[(i + 1) % len(odd)], "pilot"],
                read_length=150 if copy else 100,
            )
    client = client_for(world["users"][4])
    for i, value in enumerate(odd):
        other = odd[(i + 2) % len(odd)]
        for params in (
            {"organism": f"{value},{other}", "tissue": value},
            {"organism": value, "tags": f"{other},pilot", "read_length": "150"},
            {"tags_any": f"{value},{other}", "access_level": "public,restricted", "q": "odd"},
        ):
            params["facets"] = "organism,tissue,tags,access_level,read_length"
            indexed, plain = both_backends(client, settings, params)
            assert summary(indexed) == summary(plain), params


def test_name_pieces_of_every_length_agree(world, client_for, settings):
    """A text inside a name is one piece (``subs``), one trigram, or a phrase of the trigrams
    covering it, by its length: pieces of 1 to 16 characters taken from names (at their start,
    middle and end, in either case), and near misses with one character changed, find the same
    files both ways."""
    project = world["projects"][0]
    long_names = ["Sample-0042_liver_rna-seq_R1.fastq.gz", "sample-0042_LIVER_rna_seq_R2.fastq", "aaaaaaaaaaaa.txt"]
    for name in long_names:
        make_file(project, name, owner=world["users"][0])
    names = long_names + [f.name for f in world["files"][:6]]
    rng = random.Random(11)
    texts = set()
    for name in names:
        for length in range(1, 17):
            if length > len(name):
                break
            for start in {0, (len(name) - length) // 2, len(name) - length}:
                piece = name[start : start + length]
                texts.add(piece.swapcase() if rng.random() < 0.3 else piece)
                missed = piece[: length // 2] + ("#" if piece[length // 2] != "#" else "%") + piece[length // 2 + 1 :]
                texts.add(missed)
    client = client_for(world["users"][4])
    found = 0
    # Each request switches the backend setting twice (pytest-django stacks every switch), so a
    # sample of the pieces, with every length in it.
    by_length: dict[int, list[str]] = {}
    for text in sorted(texts):
        by_length.setdefault(len(text), []).append(text)
    texts = {text for group in by_length.values() for text in rng.sample(group, k=min(6, len(group)))}
    for text in sorted(texts):
        params = {"q": text, "page_size": 50, "ordering": "relevance", "facets": "tags"}
        indexed, plain = both_backends(client, settings, params)
        assert summary(indexed) == summary(plain), text
        found += bool(plain["count"])
    assert found > len(texts) / 3  # most pieces are found, the near misses mostly not


def test_letters_beyond_ascii_match_in_any_case_on_both_backends(world, client_for, settings):
    """A name, a description or a metadata value with letters beyond ASCII is found by a text in
    another case, by SQL as by the index, on SQLite as on PostgreSQL (SQLite's own LIKE and
    LOWER fold ASCII letters only): inside the name, as the whole name and its start (the
    relevance tiers), and as a word of the other fields."""
    project = world["projects"][0]
    owner = world["users"][0]
    make_file(project, "Ölçüm_Éclair-Straße.fastq", owner=owner)
    make_file(project, "ÖLÇÜM", owner=owner, description="Probe aus dem Gewächshaus")
    make_file(project, "plain.fastq", owner=owner, tissue="Leber ÜBERSICHT", description="ÉTUDE")
    client = client_for(world["users"][3])
    texts = ["ölçüm", "ÖLÇÜM", "Ölç", "éclair", "ÉCLAIR-STRASSE", "straße", "STRAẞE", "gewächshaus", "übersicht"]
    texts += ["étude", "Étude", "ölçüm_é", "çü", "xölçüm"]
    found = {}
    for text in texts:
        params = {"q": text, "page_size": 50, "ordering": "relevance", "facets": "tags"}
        indexed, plain = both_backends(client, settings, params)
        assert summary(indexed) == summary(plain), text
        found[text] = plain["count"]
    assert found["ölçüm"] == found["ÖLÇÜM"] == 2 and found["Ölç"] == 2 and found["çü"] == 2
    assert found["éclair"] == 1 and found["gewächshaus"] == 1 and found["übersicht"] == 1
    assert found["étude"] == found["Étude"] == 1 and found["ölçüm_é"] == 1 and found["xölçüm"] == 0
    for text, expected in [("ölç", {("name", "Ölçüm_Éclair-Straße.fastq"), ("name", "ÖLÇÜM")}), ("leber Ü", set())]:
        suggested = []
        for backend in ("tantivy", "sql"):
            settings.BIOFM_SEARCH_BACKEND = backend
            response = client.get("/api/files/suggest/", {"q": text})
            suggested.append({(item["kind"], item["value"]) for item in response.json()["results"]})
        assert suggested[0] == suggested[1] == (expected or {("tissue", "Leber ÜBERSICHT")}), text


def test_short_pieces_and_starts_of_non_ascii_names(world):
    """Every piece of 1–8 characters of a lower-case name, and each of its first 1–8 characters,
    finds exactly the names that hold it (Python's ``in`` and ``startswith``), with letters
    beyond ASCII (the backends are compared on such names in
    ``test_letters_beyond_ascii_match_in_any_case_on_both_backends``)."""
    from file_upload.search import engine

    project = world["projects"][0]
    names = ["İstanbul_Ölçüm.fastq", "Éclair-ßtraße_日本語データ.bam", "ÉCLAIR_2.txt", "ab"]
    made = {make_file(project, name, owner=world["users"][0]).id: name.lower() for name in names}
    backends.inline_catch_up()
    searcher = engine.reader().current()[0]

    def found(query):
        hits = searcher.search(backends._files([query, backends._terms("id", sorted(made))]), 20).hits
        return {made[file_id] for file_id in searcher.fast_field_values("id", [address for _, address in hits])}

    for lname in made.values():
        for length in range(1, 9):
            start_text = lname[:length]
            assert found(backends.name_starts(start_text)) == {n for n in made.values() if n.startswith(start_text)}
            for start in range(len(lname) - length + 1):
                piece = lname[start : start + length]
                assert found(backends.name_contains(piece)) == {n for n in made.values() if piece in n}, piece


def test_project_totals_agree(world, client_for, settings):
    """The files and bytes each listed project shows its caller come from the index when it is
    fresh (one aggregation) and from SQL otherwise: the same for every user, and after a delete
    and a level change; the index answers them itself."""
    from access.policy import visible_files
    from file_upload import search

    calls = []
    original = backends.IndexBackend.project_totals

    def spy(self, user, ids):
        calls.append(ids)
        return original(self, user, ids)

    backends.IndexBackend.project_totals = spy
    try:
        for round_ in range(2):
            for user in world["users"]:
                client = client_for(user)
                settings.BIOFM_SEARCH_BACKEND = "tantivy"
                indexed = client.get("/api/projects/?page_size=100").json()
                settings.BIOFM_SEARCH_BACKEND = "sql"
                plain = client.get("/api/projects/?page_size=100").json()
                assert indexed == plain, user.username
                assert any(item["file_count"] for item in plain["results"]), user.username
            if round_ == 0:
                services.soft_delete_file(world["files"][3], actor=world["files"][3].owner)
                services.update_file(world["files"][8], actor=world["users"][4], access_level="restricted")
    finally:
        backends.IndexBackend.project_totals = original
    assert len(calls) == 2 * len(world["users"])
    ann = world["users"][0]
    expected: dict[int, tuple[int, int]] = {}
    for file in visible_files(ann):
        files, size = expected.get(file.project_id, (0, 0))
        expected[file.project_id] = (files + 1, size + (file.size or 0))
    settings.BIOFM_SEARCH_BACKEND = "tantivy"
    assert search.project_totals(ann, [p.id for p in world["projects"]]) == expected


def test_the_feed_is_read_whole_across_batches(world, client_for, settings, monkeypatch):
    """The writer reads the feed in keyset batches of (xid, id): a transaction that writes more
    rows than a batch holds is read whole, nothing twice, and the index applies all of it."""
    from django.db import connection, transaction

    from file_upload.models import SearchChange
    from file_upload.search import feed

    if connection.vendor != "postgresql":
        pytest.skip("the xid feed is PostgreSQL's")
    settings.BIOFM_SEARCH_BACKEND = "tantivy"
    client = client_for(world["users"][4])
    client.get("/api/files/")  # the index catches up with the world
    monkeypatch.setattr(feed, "FEED_BATCH", 3)
    with transaction.atomic():  # 11 rows of one transaction (xid): more than three batches
        for file in world["files"][:11]:
            File.objects.filter(pk=file.pk).update(tissue="pancreas")
    make_file(world["projects"][0], "after-the-batch.fastq", owner=world["users"][0], tissue="pancreas")
    rows = feed._pg_changes(0)
    every = list(SearchChange.objects.order_by("xid", "id").values_list("id", "file_id", "xid"))
    assert rows == every and len(rows) > 3 * feed.FEED_BATCH
    indexed, plain = both_backends(client, settings, {"tissue": "pancreas", "facets": "organism"})
    assert indexed["count"] == 12 and summary(indexed) == summary(plain)


def woken_by_a_commit_elsewhere(changes, project, name: str) -> bool:
    """``changes.wait`` while another connection adds a file and commits."""
    import threading

    from django.db import connection

    def other_client() -> None:
        try:
            make_file(project, name)
        finally:
            connection.close()  # this thread's own connection

    writing = threading.Thread(target=other_client)
    writing.start()
    try:
        return changes.wait(60)
    finally:
        writing.join()


@pytest.mark.django_db(transaction=True)
def test_the_writer_wakes_when_a_change_commits(make_user):
    """On PostgreSQL the index writer sleeps on the feed trigger's notification: a commit by
    another connection ends its wait; with no change the wait runs to its timeout."""

    from django.db import connection

    from file_upload.search import feed

    if connection.vendor != "postgresql":
        pytest.skip("notifications are PostgreSQL's")
    project = ProjectFactory(owner=make_user("waker"))
    changes = feed.ChangeSignal()
    assert changes.wait(5) is True  # the first wait LISTENs and returns: it may have missed some
    assert changes.wait(0.2) is False  # nothing committed: the whole timeout

    assert woken_by_a_commit_elsewhere(changes, project, "wakes-the-writer.fastq") is True
    assert changes.wait(0.2) is False  # the notification was consumed


@pytest.mark.django_db(transaction=True)
def test_the_writer_outlives_a_broken_connection(make_user):
    """The writer's wait survives its connection being cut (a database restart): the wait
    returns (a pass runs), and the next wait LISTENs on a new connection and is woken again."""
    import threading

    from django.db import connection, connections

    from file_upload.search import feed

    if connection.vendor != "postgresql":
        pytest.skip("notifications are PostgreSQL's")
    project = ProjectFactory(owner=make_user("cut"))
    changes = feed.ChangeSignal()
    assert changes.wait(5) is True
    listening_pid = connection.connection.info.backend_pid

    def cut() -> None:
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [listening_pid])
        finally:
            connections["default"].close()

    cutter = threading.Thread(target=cut)
    cutter.start()
    cutter.join()
    assert changes.wait(0.5) is True  # the broken connection ends the wait without raising
    assert changes.wait(5) is True  # a new connection: LISTEN again
    assert connection.connection.info.backend_pid != listening_pid

    assert woken_by_a_commit_elsewhere(changes, project, "after-the-cut.fastq") is True


def test_an_index_that_started_empty_gets_name_slices_once_it_has_grown(make_user, client_for, settings, monkeypatch):
    """An index built on an empty table has one name slice for all. Once the files it holds
    reach ``RESLICE_AT`` and ``RESLICE_GROWTH`` times what its name slices were made for, the
    writer rebuilds it with slices made from its names (readers keep the last commit meanwhile),
    and not again until it has grown as much more; pages by name agree with SQL throughout."""
    from django.core.management import call_command

    from file_upload.search import engine, feed

    rebuilt_without_writer(settings)
    assert engine.reader().current() is not None
    assert engine.reader().slicing.name_bounds == [] and engine.reader().slicing.files == 0
    monkeypatch.setattr(engine, "RESLICE_AT", 30)
    owner = make_user("ann")
    project = ProjectFactory(name="Grown", owner=owner, access_level="public")
    rng = random.Random(5)
    for number in range(29):
        make_file(project, f"{rng.choice(['S', 'lib', 'run'])}{rng.randint(0, 999):03d}_{number}.fq", owner=owner)
    rebuilds = []
    real_rebuild = feed.rebuild
    monkeypatch.setattr(feed, "rebuild", lambda *args, **kwargs: rebuilds.append(1) or real_rebuild(*args, **kwargs))
    call_command("search_index_writer", "--once")  # 29 files: below RESLICE_AT
    assert rebuilds == [] and engine.reader().current() is not None and engine.reader().slicing.name_bounds == []
    for number in range(29, 40):
        make_file(project, f"{rng.choice(['S', 'lib', 'run'])}{rng.randint(0, 999):03d}_{number}.fq", owner=owner)
    call_command("search_index_writer", "--once")  # applies them: the index holds 40
    assert rebuilds == []
    call_command("search_index_writer", "--once")  # the next pass finds the slices outgrown
    assert rebuilds == [1]
    engine.reader().current()
    slicing = engine.reader().slicing
    assert slicing.files == 40 and len(set(slicing.name_bounds)) > 10
    for number in range(40, 60):  # 60 < 4 × 40: the slices still fit
        make_file(project, f"S{number:03d}.bam", owner=owner)
    call_command("search_index_writer", "--once")
    call_command("search_index_writer", "--once")  # a pass with nothing to apply: still no rebuild
    assert rebuilds == [1] and engine.reader().current() is not None and engine.reader().slicing.files == 40
    client = client_for(owner)
    for ordering in ("name", "-name"):
        for page in (1, 2, 3):
            params = {"ordering": ordering, "page_size": 9, "page": page, "facets": "tags"}
            indexed, plain = both_backends(client, settings, params)
            assert summary(indexed) == summary(plain), params
            assert len(plain["results"]) == 9


def test_name_slices_are_outgrown_by_growth_from_a_size_on(monkeypatch):
    from file_upload.search import engine

    monkeypatch.setattr(engine, "RESLICE_AT", 1000)
    assert not engine.Slicing().outgrown(999) and engine.Slicing().outgrown(1000)
    made = engine.Slicing([5, 9], files=400)
    assert not made.outgrown(1599) and made.outgrown(1600)
    assert not engine.Slicing([5, 9]).outgrown(10**7)  # an older index's bounds: taken as fitting
    assert engine.Slicing.loads(made.dumps()).files == 400 and engine.Slicing.loads(None).files is None


def test_slices_never_decrease_as_values_grow():
    """A page read slice by slice is in order only if a larger value never has a smaller slice:
    sizes across every octave (and each step within one), ids, moments before and after 1970,
    and names by bounds taken from a sample of them."""
    from file_upload.search import engine

    rng = random.Random(5)
    names = [f"{rng.choice(['S', 's', 'lib', 'Ä', '~'])}{rng.randint(0, 10**6):07d}" for _ in range(3000)]
    slicing = engine.Slicing.of_names(names[:500])
    assert len(slicing.name_bounds) > 100
    sizes = sorted({0, 1, 2, 3, 127, 128, 129, 2**53, *(rng.randint(0, 2 ** rng.randint(1, 50)) for _ in range(5000))})
    moments = sorted(rng.randint(-(2**50), 2**52) for _ in range(3000))
    for field_name, values in (
        ("size", sizes),
        ("id", sorted(rng.randint(1, 10**9) for _ in range(3000))),
        ("created_at", moments),
        ("name_key", sorted(engine.name_key(name) for name in names)),
    ):
        numbers = [slicing.number(field_name, value) for value in values]
        assert numbers == sorted(numbers), field_name
        assert len(set(numbers)) > len(values) // 20, field_name  # slices, not one for all


def _indexed_ids(searcher) -> set[int]:
    found = searcher.search(backends._files([]), 10_000, count=False, order_by_field="id")
    assert len(found.hits) < 10_000
    return set(searcher.fast_field_values("id", [address for _, address in found.hits]))


def test_each_shard_holds_its_files_and_every_shard_is_searched_side_by_side(world, client_for, settings):
    """Three shards: each holds the live files whose id leaves its remainder, and together every
    one; a search asks the first shard in the caller's thread and the others at the same time on
    the shard threads, and merges their answers into the one index's."""
    import threading

    from file_upload.search import engine

    settings.BIOFM_SEARCH_SHARDS = 3
    client = client_for(world["users"][4])
    assert client.get("/api/files/")["X-Search-Backend"] == "tantivy"
    searcher = engine.reader().current()[0]
    live = set(File.objects.alive().values_list("id", flat=True))
    assert len(searcher.shards) == 3 and sorted(p.name for p in engine.index_dir().iterdir() if p.is_dir()) == [
        "shard-0",
        "shard-1",
        "shard-2",
    ]
    held = [_indexed_ids(engine.Searcher([shard])) for shard in searcher.shards]
    assert all(held) and set().union(*held) == live and sum(map(len, held)) == len(live)
    assert all(file_id % 3 == number for number, ids in enumerate(held) for file_id in ids)

    asked: list[tuple[int, str]] = []
    started = threading.Barrier(3, timeout=10)  # every shard's search has begun before any ends

    class Watched:
        def __init__(self, number, shard):
            self.number, self.shard, self.num_docs = number, shard, shard.num_docs

        def aggregate(self, query, spec):
            asked.append((self.number, threading.current_thread().name))
            started.wait()
            return self.shard.aggregate(query, spec)

    watched = engine.Searcher([Watched(number, shard) for number, shard in enumerate(searcher.shards)])
    spec = {"organism": backends._terms_aggregation("organism"), "n": {"value_count": {"field": "id"}}}
    answer = watched.aggregate(backends._files([]), spec)
    caller = threading.current_thread().name
    assert sorted(asked)[0] == (0, caller)
    assert all(name.startswith("search-shard") for number, name in asked if number)
    assert answer["n"]["value"] == len(live)
    by_organism = {b["key"]: b["doc_count"] for b in answer["organism"]["buckets"]}
    expected = {}
    for organism in File.objects.alive().values_list("organism", flat=True):
        expected[organism or ""] = expected.get(organism or "", 0) + 1
    assert by_organism == expected


def test_terms_keep_the_largest_buckets_of_every_shard_merged():
    """Terms merged across shards: counts of one key added, the ``size`` largest kept, the rest
    and what a shard left out counted as others; filters, value counts and sums added."""
    from file_upload.search import engine

    spec = {
        "t": {"terms": {"field": "organism", "size": 2}, "aggs": {"bytes": {"sum": {"field": "size"}}}},
        "f": {"filter": "organism:x", "aggs": {"n": {"value_count": {"field": "id"}}}},
    }
    answers = [
        {
            "t": {
                "buckets": [
                    {"key": "a", "doc_count": 3, "bytes": {"value": 30.0}},
                    {"key": "b", "doc_count": 1, "bytes": {"value": 1.0}},
                ],
                "sum_other_doc_count": 0,
            },
            "f": {"doc_count": 2, "n": {"value": 2.0}},
        },
        {
            "t": {
                "buckets": [
                    {"key": "b", "doc_count": 3, "bytes": {"value": 3.0}},
                    {"key": "c", "doc_count": 2, "bytes": {"value": None}},
                ],
                "sum_other_doc_count": 5,
            },
            "f": {"doc_count": 1, "n": {"value": 1.0}},
        },
    ]
    merged = engine.merge_aggregations(spec, answers)
    merged["t"]["buckets"].sort(key=lambda bucket: -bucket["doc_count"])
    assert merged["t"]["buckets"] == [
        {"key": "b", "doc_count": 4, "bytes": {"value": 4.0}},
        {"key": "a", "doc_count": 3, "bytes": {"value": 30.0}},
    ]
    assert merged["t"]["sum_other_doc_count"] == 5 + 2
    assert merged["f"] == {"doc_count": 3, "n": {"value": 3.0}}
    plain = {"u": {"terms": {"field": "tissue", "size": 3}}}
    shards = [
        {"u": {"buckets": [{"key": "x", "doc_count": 5}, {"key": "y", "doc_count": 1}], "sum_other_doc_count": 0}},
        {"u": {"buckets": [{"key": "y", "doc_count": 2}, {"key": "z", "doc_count": 1}], "sum_other_doc_count": 0}},
        {"u": {"buckets": [{"key": "w", "doc_count": 4}], "sum_other_doc_count": 0}},
    ]
    merged = engine.merge_aggregations(plain, shards)["u"]
    assert {b["key"]: b["doc_count"] for b in merged["buckets"]} == {"x": 5, "w": 4, "y": 3}
    assert merged["sum_other_doc_count"] == 1  # z, the smallest, beyond the size
    with pytest.raises(engine.Unsupported):
        engine.merge_aggregations({"h": {"histogram": {"field": "size", "interval": 10}}}, [{"h": {}}, {"h": {}}])


def _commit_shard(writer, number: int, position: dict) -> None:
    """Commit one shard alone at ``position``: a writer stopped between its shards' commits."""
    from file_upload.search import engine

    writer.writers[number].delete_documents_by_term("kind", "meta")
    writer.writers[number].add_document(engine.meta_document(position, writer.slicing))
    writer.writers[number].commit()


def test_shards_are_read_together_only_at_a_position_they_share(world, client_for, settings):
    """Between the writer's commits of its shards, a reader keeps the commits it read before
    (never one shard's new files beside another's old ones); once every shard has the new
    position it reads them all. A writer that finds its shards at different positions (it
    stopped between them) rebuilds the index, which then answers like SQL."""
    from file_upload.search import engine, feed

    rebuilt_without_writer(settings, SHARDS=2)
    reader = engine.reader()
    searcher, position = reader.current()
    with engine.writer_lock(engine.index_dir()):
        writer = engine.Writer(engine.index_dir())
        assert writer.position() == position
        later = {**position, "at": position["at"] + 1}
        _commit_shard(writer, 0, later)
        assert reader.current() == (searcher, position)
        _commit_shard(writer, 1, later)
        newer, read = reader.current()
        assert read == later and newer is not searcher
        _commit_shard(writer, 0, {**later, "at": later["at"] + 1})
        assert writer.position() is None
        assert reader.current() == (newer, later)
        feed.catch_up(writer)  # a rebuild: every shard at the rebuild's position
        rebuilt = writer.position()
        assert rebuilt is not None and rebuilt != later and reader.current()[1] == rebuilt
        writer.close()
    client = client_for(world["users"][4])
    indexed, plain = both_backends(client, settings, {"facets": FACETS, "q": "liver"})
    assert summary(indexed) == summary(plain)


def test_another_number_of_shards_rebuilds_the_index(world, client_for, settings):
    """An index of two shards is not read by a node configured for three (SQL answers), and its
    rebuild replaces the two shards with three that answer like SQL."""
    from django.core.management import call_command

    from file_upload.search import engine

    rebuilt_without_writer(settings, SHARDS=2)
    client = client_for(world["users"][4])
    assert client.get("/api/files/")["X-Search-Backend"] == "tantivy"
    settings.BIOFM_SEARCH_SHARDS = 3
    assert client.get("/api/files/")["X-Search-Backend"] == "sql"
    call_command("rebuild_search_index", "--if-needed")
    assert sorted(p.name for p in engine.index_dir().iterdir() if p.is_dir()) == ["shard-0", "shard-1", "shard-2"]
    indexed, plain = both_backends(client, settings, {"facets": FACETS, "ordering": "-size"})
    assert summary(indexed) == summary(plain)
