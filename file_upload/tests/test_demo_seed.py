"""The demo/benchmark seeding: a seed gives the same data whatever the way rows are written
(``COPY`` on PostgreSQL, ``bulk_create`` elsewhere, the bulk load of the search benchmark),
and the same data as the row-by-row generator it replaced."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.db import connection

from file_upload.models import File, Folder, Project, ProjectMember, SearchChange

pytestmark = pytest.mark.django_db

# ``demo_digest()`` after ``seed_demo(files=2500, users=5)`` then ``seed_demo(files=1200, users=5)``,
# as the generator before ``COPY`` wrote them.
DIGEST = "742d177a54de30d961c6672897faa0a0ceac9d57b12d9aba3453b4b52ad8028d"


def demo_digest() -> str:
    """A digest of everything seeding draws (not ids, not times relative to now)."""
    h = hashlib.sha256()
    for project in Project.objects.order_by("id"):
        members = sorted(ProjectMember.objects.filter(project=project).values_list("user__username", "role"))
        h.update(json.dumps([project.name, project.access_level, project.owner.username, members]).encode())
    folders = Folder.objects.order_by("id").values_list(
        "project__name", "name_path", "access_level", "effective_access_level"
    )
    h.update(json.dumps(list(folders)).encode())
    skip = {
        "id",
        "project",
        "folder",
        "owner",
        "created_at",
        "updated_at",
        "sequencing_date",
        "search_text",
        "index_of",
    }
    names = [f.attname for f in File._meta.concrete_fields if f.name not in skip]
    for row in File.objects.order_by("id").values(
        *names, "project__name", "folder__name_path", "owner__username", "created_at", "updated_at", "sequencing_date"
    ):
        row["age_at_update"] = (row.pop("updated_at") - row["created_at"]).total_seconds()
        row["sequenced_before"] = (row.pop("created_at").date() - row.pop("sequencing_date")).days
        h.update(json.dumps(row, sort_keys=True, default=str).encode())
    return h.hexdigest()


def _seed(**options) -> None:
    from file_upload.demo import seed_demo

    seed_demo(files=2500, users=5, **options)
    seed_demo(files=1200, users=5, **options)  # grows: new projects, the generator seeded anew


def test_a_seed_gives_the_files_it_always_gave():
    _seed()
    assert File.objects.count() == 3700 and Project.objects.count() == 2
    assert demo_digest() == DIGEST


@pytest.mark.django_db(transaction=True)
def test_a_bulk_load_gives_the_same_files_indexes_and_feed():
    if connection.vendor != "postgresql":
        pytest.skip("the bulk load is PostgreSQL's")
    from file_upload.demo import PENDING_INDEXES

    def indexes() -> list[tuple[str, str]]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'file_upload_file' ORDER BY 1")
            return cursor.fetchall()

    before = indexes()
    _seed(bulk_load=True)
    assert demo_digest() == DIGEST
    assert indexes() == before
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {PENDING_INDEXES}")
        assert cursor.fetchone()[0] == 0
    # the feed holds one change per file, as the trigger writes it
    assert sorted(SearchChange.objects.values_list("file_id", flat=True)) == sorted(
        File.objects.values_list("id", flat=True)
    )
    assert not SearchChange.objects.filter(xid__isnull=True).exists()
