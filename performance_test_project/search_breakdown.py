"""Benchmark: where a warm faceted search's time goes, in process, and how low it can go.

Usage (a database and index that ``search_bench.py`` seeded and built, its writer caught up):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/biofm_search_1m \\
        BIOFM_DATA_DIR=var/search-bench/biofm_search_1m BIOFM_SEARCH_INDEX_DIR=…/index-1 \\
        .venv/bin/python performance_test_project/search_breakdown.py [--queries 200]

The same random queries as ``search_bench.py`` (same seed, same user: the one who sees about
half the files), asked in three ways in one run, one after the other, no answer kept between
them (``BIOFM_SEARCH_ANSWER_CACHE`` off: ``search_bench.py`` asks each search once):

1. the index alone: each search's page (50, by relevance with text, else by name) and its
   count and facets (one aggregation), timed apart;
2. whole requests through Django's test client (the application and its middleware, no HTTP,
   no gunicorn), with the mean time of each phase of the request's own thread;
3. the same requests with the page's files neither loaded nor shown (an empty ``results``): a
   lower bound of what any work on the listing's Python side (the ORM, the serializer) could
   bring, since what is left is authentication, visibility, the feed position, the index and
   the response around an empty page.
4. the slowest counts and facets of 1, taken apart in the index: counted with the facets, the
   matches only counted, the caller's visibility alone, and each range filter alone next to
   its column read for every file by a range aggregation.

1–3 print p50 / p95 / p99, then the targets of issue 20: warm p95 through HTTP < 20 ms at
1M files and < 50 ms at 10M (HTTP with gunicorn adds ~1–2 ms at p50 and p95 to an in-process
request on a 2-core machine; ``search_bench.py`` measures that). A benchmark: it prints
figures, it asserts none.
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import statistics
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "performance_test_project"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "file_project.settings")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
os.environ.setdefault("BIOFM_SEARCH_BACKEND", "tantivy")

# Issue 20: warm p95 through HTTP, by the number of files.
TARGETS_HTTP_P95_MS = {1_000_000: 20.0, 10_000_000: 50.0}


def trio(timings: list[float]) -> str:
    from search_bench import percentiles

    p50, p95, p99 = percentiles(timings)
    mean = statistics.mean(timings)
    return f"p50 {p50:6.1f}  p95 {p95:6.1f}  p99 {p99:6.1f} ms  (mean {mean:5.1f}, n={len(timings)})"


class Phases:
    """Time spent in chosen functions by the request's own thread (the main one), per label."""

    def __init__(self) -> None:
        self.spent: defaultdict[str, float] = defaultdict(float)
        self.main = threading.main_thread()

    def wrap(self, owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)
        spent, main = self.spent, self.main

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if threading.current_thread() is not main:
                return original(*args, **kwargs)
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[label] += time.perf_counter() - started

        setattr(owner, name, timed)


def parsed(params: dict) -> Any:
    """The search a request with these parameters asks (``SearchQuery``; it reads a plain
    mapping as it reads a request's query string)."""
    from file_upload import search

    return search.SearchQuery.from_params(params)


def filters_of(params: dict) -> dict:
    """A search's parameters as printed: its filters, not the facets and page size it asks for."""
    return {k: v for k, v in params.items() if k not in ("facets", "page_size")}


def median_ms(ask: Callable[[], Any], times: int = 7) -> float:
    timings = []
    for _ in range(times):
        started = time.perf_counter()
        ask()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def taken_apart(backend: Any, user: Any, searches: list[tuple[dict, float]], slowest: int = 6) -> None:
    """The slowest counts and facets of pass 1 taken apart in the index: the same aggregation,
    the matches only counted, the caller's visibility alone, and each range filter alone next
    to the same column read for every file by a range aggregation. Where counting the matches
    costs about as much as counting them with the four facets, the facets are not what a
    faster count needs to change."""
    from tantivy import Query as Q

    from file_upload.search import backends, declarations

    searcher = backend.searcher

    def count(query: Any) -> Any:
        """The query's matches counted, nothing scored (the first hit by id, not by relevance)."""
        return searcher.search(query, 1, order_by_field="id")

    visible = backend.matching(user, parsed({})).query()  # no filter: what the caller sees
    print(f"\n4. the {slowest} slowest counts and facets taken apart (medians of 7, ms)")
    print(f"   the caller's visibility alone, counted: {median_ms(lambda: count(visible)):.1f}")
    for params, _ in sorted(searches, key=lambda item: -item[1])[:slowest]:
        query = parsed(params)
        whole = median_ms(lambda: backend.summary(user, query))  # noqa: B023 (called here)
        matches = backend.matching(user, query).query()
        counted = median_ms(lambda: count(matches))  # noqa: B023
        print(f"   count and facets {whole:5.1f}, the matches only counted {counted:5.1f}  {filters_of(params)}")
        for name, value in query.ranges.items():
            spec = declarations.BY_NAME[name]
            alone = backends.filter_queries(parsed({name: params[name]}), set())[0]
            # Every file's value is read and put on one side of the bound or the other, whichever
            # side the filter keeps: the same reading for every kind of range.
            read = {"r": {"range": {"field": spec.field, "ranges": [{"from": backends._bound(spec, value)}]}}}
            print(
                f"     {name} alone, counted {median_ms(lambda: count(alone)):5.1f};"  # noqa: B023
                f" its column read for every file (a range aggregation)"
                f" {median_ms(lambda: searcher.aggregate(Q.all_query(), read)):5.1f}"  # noqa: B023
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to the benchmark's PostgreSQL database (search_bench.py seeds it).")
    import django

    django.setup()
    import search_bench
    from django.conf import settings
    from django.test import Client
    from rest_framework.authentication import TokenAuthentication
    from rest_framework.renderers import JSONRenderer

    from authentication.services import issue_token
    from file_upload import serializers, views
    from file_upload.search import backends, engine

    user, share = search_bench.half_visible_user()
    rng = random.Random(args.seed)
    pool = search_bench.value_pool()
    workload = [search_bench.random_query(rng, pool) for _ in range(args.queries)]
    warmup = [search_bench.random_query(rng, pool) for _ in range(10)]
    reader = engine.reader()
    searcher = reader.current()[0]
    files = searcher.num_docs - len(searcher.shards)  # each shard's feed position aside
    print(
        f"{files:,} files in {engine.shard_count()} shard(s);"
        f" user {user.username} sees {share:.0%}; {os.cpu_count()} cores,"
        f" load average {search_bench.load_average()}",
        flush=True,
    )

    # Each pass asks the same searches: no answer is kept, as none is in ``search_bench.py``,
    # which asks each search once.
    settings.BIOFM_SEARCH_ANSWER_CACHE = 0

    # 1. The index alone.
    backend = backends.fresh_index()
    if backend is None:
        sys.exit("The index is behind the feed: run `manage.py search_index_writer --once` first.")
    pages, summaries, rows = [], [], []
    for params in workload:
        query = parsed(params)
        ordering = ("relevance",) if query.q else ("name",)
        started = time.perf_counter()
        backend.page(user, query, ordering, 0, 50)
        pages.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        count, _ = backend.summary(user, query)
        summaries.append((time.perf_counter() - started) * 1000)
        rows.append((summaries[-1], pages[-1], count, params))
    print("\n1. the index alone (one thread each)")
    print(f"   page of 50         {trio(pages)}")
    print(f"   count and facets   {trio(summaries)}")
    print("   slowest (count and facets / page ms, matches, filters):")
    for summary, page, count, params in sorted(rows, key=lambda row: -max(row[0], row[1]))[:8]:
        print(f"   {summary:6.1f} / {page:5.1f}  {count:>9,}  {filters_of(params)}")

    # 2. Whole requests in process, by phase.
    phases = Phases()
    phases.wrap(TokenAuthentication, "authenticate", "authentication (a query)")
    phases.wrap(views.FileViewSet, "get_queryset", "the caller's visible queryset (two queries)")
    phases.wrap(backends, "fresh_index", "the feed position (a query)")
    phases.wrap(backends.Results, "__init__", "index, page loaded and shown meanwhile")
    phases.wrap(backends.Results, "_files", "  of which: the page's files from SQL")
    phases.wrap(serializers.FileSerializer, "_represent", "  of which: serialising them")
    phases.wrap(backends, "wait", "  of which: waiting for the index's first answer")
    phases.wrap(backends.Summary, "result", "  of which: waiting for count and facets after the page")
    phases.wrap(JSONRenderer, "render", "JSON")
    phases.wrap(views.FileViewSet, "list", "the view")
    client = Client(HTTP_AUTHORIZATION=f"Token {issue_token(user)}")

    def ask(params: dict) -> float:
        started = time.perf_counter()
        response = client.get("/api/files/?" + urlencode(params))
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200 or response["X-Search-Backend"] != "tantivy":
            sys.exit(f"{response.status_code} from {response['X-Search-Backend']}: the index must answer")
        return elapsed

    for params in warmup:
        ask(params)
    phases.spent.clear()
    whole = [ask(params) for params in workload]
    print("\n2. whole requests in process (the test client: no HTTP)")
    print(f"   request            {trio(whole)}")
    for label, seconds in sorted(phases.spent.items(), key=lambda item: -item[1]):
        print(f"   {seconds / len(workload) * 1000:6.2f} ms  {label}")

    # 3. The same with an empty page: what is left when the listing's Python side costs nothing.
    backends.Results._files = lambda self, ids: {}  # type: ignore[method-assign]
    empty = [ask(params) for params in workload]
    print("\n3. the same requests, the page's files neither loaded nor shown")
    print(f"   request            {trio(empty)}")
    targets = ", ".join(f"< {ms:.0f} ms at {size:,} files" for size, ms in TARGETS_HTTP_P95_MS.items())
    print(
        f"\ntargets (issue 20), warm p95 through HTTP: {targets}; in process here ({files:,} files):"
        f" {search_bench.percentiles(whole)[1]:.1f} ms with the page,"
        f" {search_bench.percentiles(empty)[1]:.1f} ms without it"
    )

    # 4. The slowest counts of pass 1, taken apart.
    taken_apart(backend, user, [(params, summary) for summary, _, _, params in rows])


if __name__ == "__main__":
    main()
