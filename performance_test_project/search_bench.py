"""Benchmark: faceted search (``GET /api/files/``) at 100,000 and 1,000,000 files.

Usage (PostgreSQL; the database is created, migrated and seeded with ``seed_demo`` as needed,
and grown from one size to the next):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/biofm_searchbench \\
        .venv/bin/python performance_test_project/search_bench.py [--sizes 100000,1000000] [--queries 200]

For each size: 200 random queries (1–4 filters drawn from the values present, half of them with
free text ``q``, facets on organism, assay_type, tags and access_level), each the whole request
through Django's test client (routing, auth, visibility, filters, count, page of 50, facets,
serialisation) as the demo user whose visible share is closest to one half. The process's
in-memory search index is loaded first (its load time and memory are printed); set
BIOFM_SEARCH_INDEX=0 to measure SQL alone. Prints p50/p95/p99, the share of requests the index
answered and of facet requests answered from the count table. Target: p95 < 50 ms at 1M.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "file_project.settings")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")

FACETS = "organism,assay_type,tags,access_level"
FILTER_FIELDS = [
    "organism",
    "assay_type",
    "data_type",
    "platform",
    "tissue",
    "disease",
    "sex",
    "file_format",
    "library_layout",
    "reference_genome",
    "tags",
    "access_level",
    "project",
    "parse_status",
    "size_min",
    "created_after",
]
TEXT = ["liver", "brain", "S0001", "qc-passed", "rna-seq", "fastq", "resequenced", "mus musculus", "00042", "blood"]


def ensure_database(url: str) -> None:
    from urllib.parse import urlparse

    import psycopg

    name = urlparse(url).path.lstrip("/")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def grow_to(size: int) -> None:
    from django.db import connection

    from file_upload.demo import seed_demo
    from file_upload.models import File

    have = File.objects.count()
    if have < size:
        print(f"seeding {size - have} files (have {have}) ...", flush=True)
        started = time.monotonic()
        seed_demo(files=size - have, users=20, log=lambda m: print(m, flush=True) if "0000 files" in m else None)
        print(f"seeded in {time.monotonic() - started:.0f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE file_upload_file")
        cursor.execute("ANALYZE file_upload_facetcount")


def half_visible_user():
    from django.contrib.auth import get_user_model

    from access.policy import visible_files
    from file_upload.models import File

    total = File.objects.alive().count()
    best = None
    for user in get_user_model().objects.filter(username__startswith="demo-user-"):
        share = visible_files(user).count() / total
        if best is None or abs(share - 0.5) < abs(best[1] - 0.5):
            best = (user, share)
    return best


def value_pool() -> dict[str, list]:
    from file_upload.models import FacetCount, Project

    pool: dict[str, list] = {}
    for field in FILTER_FIELDS:
        if field in ("size_min", "created_after", "project"):
            continue
        if field == "access_level":
            pool[field] = ["public", "internal", "restricted"]
            continue
        rows = FacetCount.objects.filter(field=field, count__gt=0).exclude(value="").values_list("value", flat=True)
        pool[field] = sorted(set(rows))
    pool["project"] = list(Project.objects.values_list("id", flat=True))
    pool["size_min"] = [10**6, 10**8, 10**9]
    pool["created_after"] = ["2025-01-01", "2026-06-01", "2024-03-15"]
    return pool


def random_query(rng: random.Random, pool: dict[str, list]) -> dict:
    params: dict = {"facets": FACETS}
    for field in rng.sample(FILTER_FIELDS, k=rng.randint(1, 4)):
        values = pool.get(field) or []
        if not values:
            continue
        if field in ("project", "organism", "assay_type", "tissue") and rng.random() < 0.3:
            params[field] = ",".join(str(v) for v in rng.sample(values, k=min(2, len(values))))
        else:
            params[field] = str(rng.choice(values))
    if rng.random() < 0.5:
        params["q"] = rng.choice(TEXT)
    return params


def run(size: int, queries: int, seed: int) -> None:
    from django.test import Client

    from file_upload import search, search_index

    grow_to(size)
    user, share = half_visible_user()
    print(f"\n== {size:,} files; user {user.username} sees {share:.0%} of them", flush=True)
    client = Client()
    client.force_login(user)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    index = search_index.current(wait=True)
    if index is not None:
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"in-memory index: {index.n:,} files loaded in {index.loaded_in:.1f} s;"
            f" peak RSS {before:.0f} → {rss:.0f} MB"
        )
    answered_before = index.answered if index is not None else 0
    pool = value_pool()
    rng = random.Random(seed)
    workload = [random_query(rng, pool) for _ in range(queries)]
    for params in workload[:10]:  # warm caches and connections
        client.get("/api/files/?" + urlencode(params))
    timings, table_hits, facet_total, slow = [], 0, 0, []
    original = search._from_table

    def counting(*args, **kwargs):
        nonlocal table_hits
        table_hits += 1
        return original(*args, **kwargs)

    search._from_table = counting
    try:
        for params in workload:
            facet_total += len(FACETS.split(","))
            started = time.perf_counter()
            response = client.get("/api/files/?" + urlencode(params))
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, response.content[:300]
            timings.append(elapsed)
            slow.append((elapsed, params))
    finally:
        search._from_table = original
    timings.sort()
    quantiles = statistics.quantiles(timings, n=100)
    print(
        f"{size:,} files: p50 {quantiles[49]:.1f} ms  p95 {quantiles[94]:.1f} ms  p99 {quantiles[98]:.1f} ms  "
        f"mean {statistics.mean(timings):.1f} ms  max {timings[-1]:.1f} ms  ({len(timings)} requests)",
        flush=True,
    )
    if index is not None:
        print(f"answered by the in-memory index: {index.answered - answered_before - 10}/{len(timings)}", flush=True)
    print(f"facet counts from the count table: {table_hits}/{facet_total}", flush=True)
    print("slowest:", flush=True)
    for elapsed, params in sorted(slow, key=lambda item: -item[0])[:5]:
        print(f"  {elapsed:7.1f} ms  {urlencode(params)}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database (e.g. .../biofm_searchbench).")
    ensure_database(url)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.DEBUG = False
    call_command("migrate", verbosity=0)
    for size in [int(s) for s in args.sizes.split(",")]:
        run(size, args.queries, args.seed)


if __name__ == "__main__":
    main()
