"""Faceted search: every filter, free text, ordering, cursor pages, and facet counts checked
against counts the test computes itself from its own model of who may see what.

Every test runs twice: answered by the tantivy index (and each answer is checked to be the
index's, not a silent fallback to SQL) and by SQL alone, so both backends are held to the same
oracle, on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.utils import timezone

from authentication.services import create_grant
from file_upload import services
from file_upload.filters import FileFilterSet
from file_upload.metadata import METADATA_FIELD_NAMES, METADATA_FIELDS
from file_upload.models import File, Project, SavedSearch
from file_upload.search import declarations
from file_upload.tests.factories import ProjectFactory, UserFactory, make_file, make_folder

pytestmark = pytest.mark.django_db

BACKEND = {"name": "tantivy"}


@pytest.fixture(autouse=True, params=["tantivy", "sql"])
def search_path(request, settings):
    """Every test runs on each backend: the tantivy index and SQL alone."""
    settings.BIOFM_SEARCH_BACKEND = BACKEND["name"] = request.param
    return request.param


# --- a small world with an independent visibility model ----------------------------------------


@dataclass
class Spec:
    name: str
    project: str
    level: str  # effective level, as the test means it
    owner: str = "alice"
    folder: str | None = None
    tags: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


SPECS = [
    Spec("h1.fastq", "Open", "public", meta={"organism": "Homo sapiens", "assay_type": "RNA-seq"}, tags=["liver"]),
    Spec("h2.fastq", "Open", "public", meta={"organism": "Homo sapiens", "assay_type": "WGS"}, tags=["liver", "qc"]),
    Spec("m1.bam", "Open", "internal", meta={"organism": "Mus musculus", "assay_type": "RNA-seq"}, tags=["brain"]),
    Spec("m2.bam", "Lab", "internal", meta={"organism": "Mus musculus", "assay_type": "scRNA-seq"}),
    Spec("h3.vcf", "Lab", "internal", meta={"organism": "Homo sapiens", "assay_type": "WES"}, tags=["qc"]),
    # Restricted project: alice owns it, bob is a viewer.
    Spec("secret1.fastq", "Vault", "restricted", meta={"organism": "Homo sapiens", "assay_type": "RNA-seq"}),
    Spec("secret2.fastq", "Vault", "restricted", meta={"organism": "Danio rerio", "assay_type": "WGS"}, tags=["liver"]),
    # A restricted file in an open project: only alice, its owner carol, and dave (file grant).
    Spec("hidden.fastq", "Open", "restricted", owner="carol", meta={"organism": "Danio rerio", "assay_type": "WGS"}),
    # A restricted folder in the lab project; erin holds a grant on the folder.
    Spec("deep.bam", "Lab", "restricted", folder="private", meta={"organism": "Mus musculus", "assay_type": "WGS"}),
]


@pytest.fixture
def world(alice, make_user):
    users = {"alice": alice, **{name: make_user(name) for name in ("bob", "carol", "dave", "erin")}}
    users["root"] = UserFactory(username="root", password="x", superuser=True)
    alice = users["alice"]
    projects = {
        "Open": ProjectFactory(name="Open", owner=alice, access_level="public"),
        "Lab": ProjectFactory(name="Lab", owner=alice, access_level="internal"),
        "Vault": ProjectFactory(name="Vault", owner=alice, access_level="restricted", members={users["bob"]: "viewer"}),
    }
    folder = make_folder(projects["Lab"], "private", access_level="restricted")
    files = {}
    for spec in SPECS:
        level = "inherit"
        if spec.project == "Open" and spec.level != "public":
            level = spec.level
        files[spec.name] = make_file(
            projects[spec.project],
            spec.name,
            folder=folder if spec.folder else None,
            owner=users[spec.owner],
            tags=spec.tags,
            access_level=level,
            **spec.meta,
        )
        assert files[spec.name].effective_access_level == spec.level
    create_grant(actor=alice, subject=users["dave"], target=files["hidden.fastq"], permission="view")
    create_grant(actor=alice, subject=users["erin"], target=folder, permission="view")
    return {"users": users, "projects": projects, "files": files}


def sees(username: str | None, spec: Spec) -> bool:
    """The test's own statement of the access rules for this world."""
    if username == "root" or spec.level == "public":
        return True
    if username is None:
        return False
    if spec.level == "internal" or username == "alice" or spec.owner == username:
        return True
    if spec.project == "Vault" and username == "bob":
        return True
    if spec.name == "hidden.fastq" and username == "dave":
        return True
    return spec.folder == "private" and username == "erin"


def value_of(spec: Spec, name: str) -> list[Any]:
    if name == "tags":
        return spec.tags
    if name == "access_level":
        return [spec.level]
    return [spec.meta.get(name, "")]


def expected_facets(username: str | None, filters: dict[str, list[str]], facets: list[str]) -> dict:
    """Disjunctive counts: each facet ignores its own filter."""
    out = {}
    for facet in facets:
        counter: Counter = Counter()
        for spec in SPECS:
            if not sees(username, spec):
                continue
            if all(set(value_of(spec, name)) & set(values) for name, values in filters.items() if name != facet):
                counter.update(v for v in value_of(spec, facet) if v)
        out[facet] = dict(counter)
    return out


def as_dict(payload: list[dict]) -> dict:
    return {item["value"]: item["count"] for item in payload}


def get(client, **params):
    query = "&".join(
        f"{key}={value}"
        for key, values in params.items()
        for value in (values if isinstance(values, list) else [values])
    )
    response = client.get(f"/api/files/?{query}")
    assert response.status_code == 200, response.json()
    # The backend under test answered (facets on identifiers are SQL's by design).
    asked = set(str(params.get("facets", "")).split(","))
    if not asked & declarations.IDENTIFIER_FIELDS:
        assert response["X-Search-Backend"] == BACKEND["name"], params
    return response.json()


USERS = ["alice", "bob", "carol", "dave", "erin", "root", None]
QUERIES = [
    {},
    {"organism": ["Homo sapiens"]},
    {"organism": ["Homo sapiens", "Danio rerio"]},
    {"organism": ["Mus musculus"], "assay_type": ["RNA-seq", "WGS"]},
    {"access_level": ["restricted"]},
    {"tags": ["liver"]},
    {"access_level": ["public", "restricted"], "organism": ["Danio rerio"]},
]


class TestFacetCounts:
    @pytest.mark.parametrize("username", USERS)
    @pytest.mark.parametrize("filters", QUERIES)
    def test_counts_match_an_independent_count(self, world, client_for, anon, username, filters):
        client = client_for(world["users"][username]) if username else anon
        facets = ["organism", "assay_type", "tags", "access_level"]
        params: dict[str, Any] = {"facets": ",".join(facets)}
        for name, values in filters.items():
            params[name] = ",".join(values).replace(" ", "+")
        body = get(client, **params)
        expected = expected_facets(username, filters, facets)
        assert {name: as_dict(body["facets"][name]) for name in facets} == expected
        matching = [
            s.name for s in SPECS if sees(username, s) and all(set(value_of(s, n)) & set(v) for n, v in filters.items())
        ]
        assert body["count"] == len(matching)
        assert sorted(f["name"] for f in body["results"]) == sorted(matching)

    def test_a_restricted_file_is_never_counted(self, world, client_for):
        body = get(
            client_for(world["users"]["carol"]), facets="organism,access_level", project=world["projects"]["Vault"].id
        )
        assert body["count"] == 0
        assert body["facets"] == {"organism": [], "access_level": []}
        # carol sees her own restricted file in the open project, and only that one.
        body = get(client_for(world["users"]["carol"]), facets="access_level", access_level="restricted")
        assert as_dict(body["facets"]["access_level"])["restricted"] == 1
        assert [f["name"] for f in body["results"]] == ["hidden.fastq"]

    def test_project_facet_labels(self, world, client_for):
        body = get(client_for(world["users"]["bob"]), facets="project")
        by_label = {item["label"]: item["count"] for item in body["facets"]["project"]}
        assert by_label == {"Open": 3, "Lab": 2, "Vault": 2}

    def test_unknown_facet_is_400(self, world, api):
        response = api.get("/api/files/?facets=nope")
        assert response.status_code == 400
        assert response.json()["code"]

    def test_counts_follow_writes(self, world, client_for):
        """Edits, level changes and deletes move the counts (through the change feed, for the
        index)."""
        bob = client_for(world["users"]["bob"])
        files = world["files"]
        services.update_file(files["h1.fastq"], actor=world["users"]["alice"], organism="Mus musculus", tags=["x"])
        services.soft_delete_file(files["secret1.fastq"], actor=world["users"]["alice"])
        services.update_project(world["projects"]["Lab"], actor=world["users"]["alice"], access_level="restricted")
        body = get(bob, facets="organism,tags,access_level")
        # bob: Open (h1 now mouse, h2, m1), Vault secret2; Lab is restricted now, bob is not in it.
        assert as_dict(body["facets"]["organism"]) == {"Mus musculus": 2, "Homo sapiens": 1, "Danio rerio": 1}
        assert as_dict(body["facets"]["tags"]) == {"x": 1, "liver": 2, "qc": 1, "brain": 1}
        assert as_dict(body["facets"]["access_level"]) == {"public": 2, "internal": 1, "restricted": 1}


# --- one test per filter -------------------------------------------------------------------------

SAMPLE_VALUES: dict[str, tuple[Any, Any]] = {
    "text": ("alpha value", "beta value"),
    "integer": (9606, 10090),
    "date": ("2024-01-02", "2025-03-04"),
}
FIELD_VALUES = {
    "bioproject_accession": ("PRJNA000001", "PRJEB000002"),
    "biosample_accession": ("SAMN00000001", "SAMEA0000002"),
    "sra_accession": ("SRR0000001", "ERR0000002"),
}


def two_values(spec) -> tuple[Any, Any]:
    if spec.choices:
        return spec.choices[0], spec.choices[1]
    return FIELD_VALUES.get(spec.name) or SAMPLE_VALUES[spec.kind]


def test_every_metadata_field_has_a_filter():
    missing = set(METADATA_FIELD_NAMES) - set(FileFilterSet.base_filters)
    assert not missing, f"metadata fields without a filter: {sorted(missing)}"


def test_every_declared_filter_is_a_parameter_and_every_listed_facet_counts(api, project):
    assert {spec.name for spec in declarations.FILTERS} | {"facets"} == set(FileFilterSet.base_filters)
    # The sidebar's places are distinct and belong to facets that are no identifiers.
    places = [spec.sidebar for spec in declarations.FILTERS if spec.sidebar]
    assert len(places) == len(set(places)) and all(place > 0 for place in places)
    assert all(
        spec.facet and spec.name not in declarations.IDENTIFIER_FIELDS for spec in declarations.FILTERS if spec.sidebar
    )
    make_file(project, "a.txt", organism="Homo sapiens", tags=["x"])
    listed = [item["name"] for item in api.get("/api/metadata/fields/").json()["facets"]]
    assert "organism" in listed and "tags" in listed and "sample_id" not in listed
    body = get(api, facets=",".join(listed))
    assert set(body["facets"]) == set(listed)
    assert as_dict(body["facets"]["organism"]) == {"Homo sapiens": 1}


@pytest.fixture
def project(alice):
    return ProjectFactory(name="Atlas", owner=alice)


@pytest.mark.parametrize("spec", METADATA_FIELDS, ids=lambda spec: spec.name)
def test_metadata_field_filter(spec, api, project):
    first, second = two_values(spec)
    make_file(project, "a.txt", **{spec.name: first})
    make_file(project, "b.txt", **{spec.name: second})
    make_file(project, "c.txt")
    assert [f["name"] for f in get(api, **{spec.name: str(first).replace(" ", "+")})["results"]] == ["a.txt"]
    both = get(api, **{spec.name: [str(first).replace(" ", "+"), str(second).replace(" ", "+")]})
    assert [f["name"] for f in both["results"]] == ["a.txt", "b.txt"]
    facets = get(api, facets=spec.name, **{spec.name: str(first).replace(" ", "+")})["facets"][spec.name]
    assert {str(item["value"]) for item in facets} == {str(first), str(second)}


def test_different_fields_are_and_ed(api, project):
    make_file(project, "a.txt", organism="Homo sapiens", assay_type="WGS")
    make_file(project, "b.txt", organism="Homo sapiens", assay_type="WES")
    make_file(project, "c.txt", organism="Mus musculus", assay_type="WGS")
    assert [f["name"] for f in get(api, organism="Homo+sapiens", assay_type="WGS")["results"]] == ["a.txt"]


def test_tags_all_of_and_any_of(api, project):
    make_file(project, "a.txt", tags=["liver", "qc"])
    make_file(project, "b.txt", tags=["liver"])
    make_file(project, "c.txt", tags=["brain"])
    assert [f["name"] for f in get(api, tags="liver,qc")["results"]] == ["a.txt"]
    assert [f["name"] for f in get(api, tags=["liver", "qc"])["results"]] == ["a.txt"]
    assert [f["name"] for f in get(api, tags_any="qc,brain")["results"]] == ["a.txt", "c.txt"]


def test_access_level_filter_uses_the_effective_level(api, project):
    folder = make_folder(project, "locked", access_level="restricted")
    make_file(project, "a.txt", folder=folder)
    make_file(project, "b.txt")
    assert [f["name"] for f in get(api, access_level="restricted")["results"]] == ["a.txt"]
    assert [f["name"] for f in get(api, access_level="internal,public")["results"]] == ["b.txt"]
    assert api.get("/api/files/?access_level=secret").status_code == 400


def test_project_filter(api, project, alice):
    other = ProjectFactory(name="Other", owner=alice)
    make_file(project, "a.txt")
    make_file(other, "b.txt")
    assert [f["name"] for f in get(api, project=other.id)["results"]] == ["b.txt"]
    assert len(get(api, project=f"{project.id},{other.id}")["results"]) == 2


def test_folder_filter_and_recursive_subtree(api, project):
    raw = make_folder(project, "raw")
    run = make_folder(project, "run1", parent=raw)
    deeper = make_folder(project, "lane1", parent=run)
    make_file(project, "root.txt")
    make_file(project, "a.txt", folder=raw)
    make_file(project, "b.txt", folder=run)
    make_file(project, "c.txt", folder=deeper)
    assert [f["name"] for f in get(api, folder=raw.id)["results"]] == ["a.txt"]
    assert [f["name"] for f in get(api, folder=run.id, recursive="true")["results"]] == ["b.txt", "c.txt"]
    assert [f["name"] for f in get(api, folder="null")["results"]] == ["root.txt"]
    assert get(api, folder=999999, recursive="true")["results"] == []


def test_owner_filter(api, project, bob):
    make_file(project, "a.txt")
    make_file(project, "b.txt", owner=bob)
    assert [f["name"] for f in get(api, owner="bob")["results"]] == ["b.txt"]


def test_date_range_filters(api, project):
    old = make_file(project, "old.txt")
    make_file(project, "new.txt")
    File.objects.filter(pk=old.pk).update(
        created_at=timezone.make_aware(dt.datetime(2020, 5, 1)), updated_at=timezone.make_aware(dt.datetime(2020, 5, 2))
    )
    assert [f["name"] for f in get(api, created_before="2020-05-01")["results"]] == ["old.txt"]
    assert [f["name"] for f in get(api, created_after="2021-01-01")["results"]] == ["new.txt"]
    assert [f["name"] for f in get(api, updated_before="2020-06-01")["results"]] == ["old.txt"]
    assert [f["name"] for f in get(api, updated_after="2020-05-03")["results"]] == ["new.txt"]
    assert api.get("/api/files/?created_after=yesterday").status_code == 400


def test_sequencing_date_range(api, project):
    make_file(project, "a.txt", sequencing_date="2024-01-02")
    make_file(project, "b.txt", sequencing_date="2025-01-02")
    assert [f["name"] for f in get(api, sequencing_date_after="2024-06-01")["results"]] == ["b.txt"]
    assert [f["name"] for f in get(api, sequencing_date_before="2024-06-01")["results"]] == ["a.txt"]


def test_size_range_filters(api, project):
    make_file(project, "small.txt", content=b"x")
    make_file(project, "big.txt", content=b"x" * 1000)
    assert [f["name"] for f in get(api, size_min=10)["results"]] == ["big.txt"]
    assert [f["name"] for f in get(api, size_max=10)["results"]] == ["small.txt"]
    assert api.get("/api/files/?size_min=ten").status_code == 400


def test_parse_status_filter(api, project):
    done = make_file(project, "done.txt")
    make_file(project, "pending.txt")
    File.objects.filter(pk=done.pk).update(parse_status="done")
    assert [f["name"] for f in get(api, parse_status="done")["results"]] == ["done.txt"]
    assert api.get("/api/files/?parse_status=bogus").status_code == 400


class TestFreeText:
    @pytest.fixture
    def files(self, project):
        make_file(project, "SRR123_liver_R1.fastq.gz", description="first run", tags=["batch-7"])
        make_file(project, "brain.bam", organism="Mus musculus", tissue="cerebellum")
        make_file(project, "notes.txt", description="Liver biopsy protocol")

    @pytest.mark.parametrize(
        ("text", "names"),
        [
            ("liver", ["SRR123_liver_R1.fastq.gz", "notes.txt"]),  # name part and description word
            ("R123_liv", ["SRR123_liver_R1.fastq.gz"]),  # partial name
            ("cerebellum", ["brain.bam"]),  # metadata value
            ("mus musculus", ["brain.bam"]),  # several words
            ("batch-7", ["SRR123_liver_R1.fastq.gz"]),  # tag
            ("BIOPSY", ["notes.txt"]),  # case
            ("zebrafish", []),
        ],
    )
    def test_q(self, api, files, text, names):
        assert sorted(f["name"] for f in get(api, q=text.replace(" ", "+"))["results"]) == names

    def test_relevance_puts_name_matches_first(self, api, files):
        names = [f["name"] for f in get(api, q="liver", ordering="relevance")["results"]]
        assert names == ["SRR123_liver_R1.fastq.gz", "notes.txt"]


class TestOrderingAndPages:
    @pytest.fixture
    def files(self, project):
        for i, size in enumerate([30, 10, 20]):
            make_file(project, f"f{i}.txt", content=b"x" * size)

    def test_ordering(self, api, files):
        assert [f["name"] for f in get(api, ordering="size")["results"]] == ["f1.txt", "f2.txt", "f0.txt"]
        assert [f["name"] for f in get(api, ordering="-name")["results"]] == ["f2.txt", "f1.txt", "f0.txt"]
        assert [f["name"] for f in get(api, ordering="-created_at")["results"]] == ["f2.txt", "f1.txt", "f0.txt"]
        assert api.get("/api/files/?ordering=sha256").status_code == 400

    def test_cursor_pages_walk_everything_once(self, api, project):
        for i in range(7):
            make_file(project, f"g{i}.txt")
        seen, url = [], "/api/files/?pagination=cursor&page_size=3&ordering=name"
        while url:
            body = api.get(url).json()
            seen += [f["name"] for f in body["results"]]
            url = body["next"]
        assert seen == [f"g{i}.txt" for i in range(7)]

    def test_page_numbers_still_work(self, api, files):
        body = get(api, page_size=2, page=2, facets="organism")
        assert body["count"] == 3 and len(body["results"]) == 1


def test_suggestions_only_show_visible_names(world, client_for):
    carol = client_for(world["users"]["carol"])
    body = carol.get("/api/files/suggest/?q=secret").json()
    assert body["results"] == []
    body = client_for(world["users"]["bob"]).get("/api/files/suggest/?q=secret").json()
    assert {"kind": "name", "value": "secret1.fastq"} in body["results"]


def test_value_suggestions_only_show_visible_values(world, client_for):
    """Danio rerio is on two restricted files: carol owns one, erin sees neither."""
    carol = client_for(world["users"]["carol"]).get("/api/files/suggest/?q=DANIO").json()["results"]
    assert {"kind": "organism", "value": "Danio rerio"} in carol
    erin = client_for(world["users"]["erin"]).get("/api/files/suggest/?q=danio").json()["results"]
    assert [item for item in erin if item["kind"] != "name"] == []
    mouse = client_for(world["users"]["erin"]).get("/api/files/suggest/?q=musc").json()["results"]
    assert {"kind": "organism", "value": "Mus musculus"} in mouse


class TestSavedSearches:
    def test_crud_and_privacy(self, api, client_for, bob):
        response = api.post("/api/saved-searches/", {"name": "Mouse RNA", "query": "?organism=Mus+musculus"})
        assert response.status_code == 201, response.json()
        saved = response.json()
        assert saved["query"] == "organism=Mus+musculus"
        assert [s["name"] for s in api.get("/api/saved-searches/").json()] == ["Mouse RNA"]
        assert client_for(bob).get("/api/saved-searches/").json() == []
        assert client_for(bob).delete(f"/api/saved-searches/{saved['id']}/").status_code == 404
        assert api.patch(f"/api/saved-searches/{saved['id']}/", {"name": "Mouse"}).status_code == 200
        assert api.delete(f"/api/saved-searches/{saved['id']}/").status_code == 204
        assert not SavedSearch.objects.exists()

    def test_anonymous_is_401(self, anon):
        assert anon.get("/api/saved-searches/").status_code == 401


class TestSeedDemo:
    def test_seeds_consistent_levels_and_counts(self, search_path):
        from django.contrib.auth import get_user_model

        from file_upload import search
        from file_upload.demo import seed_demo
        from file_upload.search import backends

        result = seed_demo(files=400, users=3)
        assert result["files"] == 400 and File.objects.count() == 400
        for project in Project.objects.all():
            # The stored effective levels are what the level rules give.
            assert services.refresh_effective_levels(project) == 0
        assert File.objects.values("organism").distinct().count() > 3
        assert set(File.objects.values_list("effective_access_level", flat=True)) >= {"internal", "restricted"}
        if search_path == "sql":
            return
        index = backends.fresh_index()
        assert index is not None
        sql = backends.SqlBackend()
        for user in get_user_model().objects.filter(username__startswith="demo-user-"):
            query = search.SearchQuery.from_params({"facets": "organism,assay_type,tags,access_level,project"})
            assert index.facets(user, query) == sql.facets(user, query)
            assert index.count(user, query) == sql.count(user, query) > 0
            ordering = ("name", "id")
            assert index.page(user, query, ordering, 0, 50) == sql.page(user, query, ordering, 0, 50)
