"""Benchmark: page 1 of ``GET /api/files/`` for a viewer who sees 1% of 100,000 files.

Usage (PostgreSQL; the database is created and seeded on first run, reused afterwards):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/biofm_bench \\
        .venv/bin/python performance_test_project/bench_visibility.py [--files 100000] [--requests 200]

Prints p50/p95/mean latency of the whole request through Django (routing, auth, the visibility
query, count, serialisation) and the query plan of the visibility-filtered page.
Target (issue "access control"): p95 < 50 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "file_project.settings")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")


def ensure_database(url: str) -> None:
    from urllib.parse import urlparse

    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def seed(total_files: int) -> None:
    from django.contrib.auth import get_user_model

    from file_upload.models import File, Project, ProjectMember

    User = get_user_model()
    if File.objects.count() >= total_files:
        return
    print(f"seeding {total_files} files ...", flush=True)
    owner, _ = User.objects.get_or_create(username="bench-owner")
    viewer, _ = User.objects.get_or_create(username="bench-viewer")
    projects = [Project(name=f"bench-{i:03d}", owner=owner, access_level="restricted") for i in range(100)]
    Project.objects.bulk_create(projects, ignore_conflicts=True)
    projects = list(Project.objects.filter(name__startswith="bench-").order_by("name"))
    ProjectMember.objects.get_or_create(project=projects[0], user=viewer, defaults={"role": "viewer"})
    per_project = total_files // len(projects)
    for project in projects:
        File.objects.bulk_create(
            [
                File(
                    project=project,
                    name=f"sample_{i:05d}_R1.fastq.gz",
                    owner=owner,
                    size=i * 1000,
                    storage_key=f"bench/{project.id}/{i}",
                    effective_access_level="restricted",
                    organism="Homo sapiens" if i % 2 else "Mus musculus",
                    assay_type="RNA-seq",
                )
                for i in range(per_project)
            ],
            batch_size=5000,
        )
    print("seeded", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database (it is created if missing).")
    ensure_database(url)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from rest_framework.test import APIClient

    from access.policy import visible_files
    from file_upload.models import File

    call_command("migrate", verbosity=0)
    seed(args.files)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    from django.contrib.auth import get_user_model

    viewer = get_user_model().objects.get(username="bench-viewer")
    client = APIClient()
    client.force_authenticate(viewer)
    visible = visible_files(viewer).count()
    total = File.objects.count()
    print(f"files: {total}, visible to the viewer: {visible} ({visible / total:.1%})")
    for _ in range(10):  # warm-up
        client.get("/api/files/?page=1")
    timings = []
    for _ in range(args.requests):
        started = time.perf_counter()
        response = client.get("/api/files/?page=1")
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200 and len(response.json()["results"]) == 50
    timings.sort()
    p50 = statistics.median(timings)
    p95 = timings[int(len(timings) * 0.95) - 1]
    print(
        f"GET /api/files/?page=1 as viewer, {args.requests} requests: "
        f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, mean {statistics.mean(timings):.1f} ms (target p95 < 50 ms)"
    )
    page = visible_files(viewer).order_by("name", "id")[:50]
    with connection.cursor() as cursor:
        sql, params = page.query.sql_with_params()
        cursor.execute("EXPLAIN ANALYZE " + sql, params)
        print("\n".join(row[0] for row in cursor.fetchall()))


if __name__ == "__main__":
    main()
