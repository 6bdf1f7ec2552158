"""Benchmark: faceted search (``GET /api/files/``) through HTTP, tantivy next to its baselines.

Usage (PostgreSQL; the database is created, migrated and seeded with ``seed_demo(bulk_load=True)``
as needed — COPY, indexes built after — and grown from one size to the next):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/biofm_search_bench \\
        .venv/bin/python performance_test_project/search_bench.py [--sizes 100000,1000000] [--queries 200]

For each size the tantivy index is rebuilt (timed), then each backend — ``tantivy`` (with its
writer process) and ``sql`` — is served in turn by a fresh gunicorn (2 workers × 4 threads) on a
free port, interleaved in one run so that the figures share the machine's conditions. Per backend
it prints: the first search after the restart, p50/p95/p99 of the same random queries warm (1–4
filters, half with free text, facets on organism, assay_type, tags and access_level, a page of
50), of the first 50 of them sorted another way (a user's next step; the facets are asked again),
of never-seen texts, of the same queries while another client edits metadata and uploads
files, which backend answered (header ``X-Search-Backend``), and the RSS of each web process.
Targets (issue 20): warm p95 < 20 ms at 1M, first request after a restart < 200 ms, never-seen
text p99 < 100 ms at 1M, RSS independent of the number of files, rebuild of 1M < 2 min.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "file_project.settings")

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
RESORTED = 50  # of the warm queries, asked again in another order
TEXT = ["liver", "brain", "S0001", "qc-passed", "rna-seq", "fastq", "resequenced", "mus musculus", "00042", "blood"]
BACKENDS = ("tantivy", "sql")


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

    from file_upload.demo import restore_indexes, seed_demo
    from file_upload.models import File

    restore_indexes(lambda m: print(m, flush=True))  # of a load that was interrupted
    have = File.objects.count()
    if have < size:
        print(f"seeding {size - have} files (have {have}) ...", flush=True)
        started = time.monotonic()
        # COPY without the file table's indexes (built again after) and triggers (the change
        # feed gets its rows in bulk): the index is rebuilt from the rows right after.
        seed_demo(files=size - have, users=20, log=every(5.0), bulk_load=True)
        print(f"seeded in {time.monotonic() - started:.0f} s", flush=True)
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE file_upload_file")
    print(f"vacuum analyze in {time.monotonic() - started:.0f} s", flush=True)


def every(seconds: float):
    """A progress printer that lets through one line per ``seconds`` (and the first)."""
    last = [0.0]

    def say(message: str) -> None:
        now = time.monotonic()
        if now - last[0] >= seconds or not message.startswith("  project "):
            last[0] = now
            print(message, flush=True)

    return say


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
    from file_upload.models import File, Project

    pool: dict[str, list] = {}
    sample = File.objects.order_by("?")[:3000] if File.objects.count() < 200000 else File.objects.all()[:3000]
    for field in FILTER_FIELDS:
        if field in ("size_min", "created_after", "project", "tags"):
            continue
        if field == "access_level":
            pool[field] = ["public", "internal", "restricted"]
            continue
        pool[field] = sorted({v for v in sample.values_list(field, flat=True) if v})
    pool["tags"] = sorted({t for tags in sample.values_list("tags", flat=True) for t in tags or []})
    pool["project"] = list(Project.objects.values_list("id", flat=True))
    pool["size_min"] = [10**6, 10**8, 10**9]
    pool["created_after"] = ["2025-01-01", "2026-06-01", "2024-03-15"]
    return pool


def random_query(rng: random.Random, pool: dict[str, list]) -> dict:
    params: dict = {"facets": FACETS, "page_size": 50}
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


def unseen_texts(rng: random.Random, n: int) -> list[dict]:
    """Texts no process has seen: partial sample names and words, fresh each time, and the one
    or two characters a search box sends as someone starts typing."""
    texts: list[dict] = []
    seen: set[str] = set()
    i = 0
    while len(texts) < n:
        kind, i = i % 4, i + 1
        if kind == 0:
            text = f"S{rng.randint(0, 99999):05d}"[: rng.randint(3, 6)]
        elif kind == 1:
            text = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 7)))
        elif kind == 2:
            text = f"{rng.choice(['liver', 'brain', 'blood', 'lung'])} {rng.randint(0, 999)}"
        else:
            text = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789_-.") for _ in range(rng.randint(1, 2)))
        if text.lower() not in seen:  # each asked once
            seen.add(text.lower())
            texts.append({"q": text, "facets": FACETS, "page_size": 50})
    return texts


def percentiles(timings: list[float]) -> tuple[float, float, float]:
    if len(timings) < 2:
        return (timings[0],) * 3 if timings else (0.0, 0.0, 0.0)
    q = statistics.quantiles(sorted(timings), n=100)
    return q[49], q[94], q[98]


def quantiles(timings: list[float]) -> str:
    p50, p95, p99 = percentiles(timings)
    return f"p50 {p50:7.1f}  p95 {p95:7.1f}  p99 {p99:7.1f} ms  (n={len(timings)})"


def load_average() -> str:
    return "/".join(f"{value:.1f}" for value in os.getloadavg())


def summary_table(rows: list[dict]) -> str:
    """The run's figures as one markdown table (for the README)."""
    head = (
        "| files | backend | warm p50/p95/p99 ms | first after restart ms | never-seen text p50/p95/p99 ms"
        " | under writes p50/p95/p99 ms (by index) | web CPU per request ms (warm / never-seen)"
        " | RSS per web process MB | same search re-sorted p50/p95/p99 ms (web CPU) | load average |"
    )
    lines = [head, "| " + " | ".join(["---"] * 10) + " |"]

    def trio(values: tuple[float, ...]) -> str:
        return " / ".join(f"{value:.0f}" for value in values)

    for row in rows:
        by_index = f" ({row['busy_indexed']}/{row['busy_n']})" if row["busy_indexed"] is not None else ""
        lines.append(
            f"| {row['size']:,} | {row['backend']} | {trio(row['warm'])} | {row['first']:.0f} | {trio(row['unseen'])}"
            f" | {trio(row['busy'])}{by_index}"
            f" | {row['warm_cpu']:.1f} / {row['unseen_cpu']:.1f} | {' + '.join(map(str, row['rss']))}"
            f" | {trio(row['resorted'])} ({row['resorted_cpu']:.1f}) | {row['load']} |"
        )
    return "\n".join(lines)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Service:
    """gunicorn (and, for tantivy, the index writer) on one backend."""

    def __init__(self, backend: str, env: dict[str, str], log_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**env, "BIOFM_SEARCH_BACKEND": backend, "ALLOWED_HOSTS": "127.0.0.1,localhost"}
        self.log = (log_dir / f"bench-{backend}.log").open("a")
        self.procs: list[subprocess.Popen] = []
        self.backend = backend

    def start(self) -> float:
        import requests

        if self.backend == "tantivy":
            self.procs.append(self._spawn([sys.executable, "manage.py", "search_index_writer"]))
        web = self._spawn(
            [sys.executable, "-m", "gunicorn", "file_project.wsgi:application", "--config", "gunicorn.conf.py",
             "--bind", f"127.0.0.1:{self.port}",
             "--worker-class", "gthread", "--workers", "2", "--threads", "4", "--timeout", "300"]
        )  # fmt: skip
        self.procs.append(web)
        started = time.monotonic()
        while True:
            try:
                if requests.get(f"{self.url}/healthz", timeout=5).status_code == 200:
                    return time.monotonic() - started
            except requests.RequestException:
                pass
            if web.poll() is not None:
                raise SystemExit(f"gunicorn exited; see {self.log.name}")
            time.sleep(0.1)

    def _spawn(self, argv: list[str]) -> subprocess.Popen:
        return subprocess.Popen(
            argv, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def worker_pids(self) -> list[int]:
        master = self.procs[-1].pid
        return [int(pid) for pid in Path(f"/proc/{master}/task/{master}/children").read_text().split()]

    def worker_cpu(self) -> float:
        """CPU seconds (user + system) the gunicorn workers have used so far: divided by the
        requests in between, a cost per request that other load on the machine does not inflate
        the way it inflates wall time."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self.worker_pids():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        return total / ticks

    def worker_rss(self) -> list[int]:
        """RSS (MB) of each gunicorn worker (children of the master)."""
        master = self.procs[-1].pid
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        sizes = []
        for pid in children:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(int(line.split()[1]) // 1024)
        return sizes

    def stop(self) -> None:
        for proc in reversed(self.procs):
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=60)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(proc.pid, signal.SIGKILL)
        self.log.close()


class Client:
    def __init__(self, url: str, token: str) -> None:
        import requests

        self.url = url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"
        self.answered: Counter = Counter()

    def search(self, params: dict) -> float:
        started = time.perf_counter()
        response = self.session.get(f"{self.url}/api/files/?{urlencode(params)}", timeout=300)
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, response.text[:300]
        self.answered[response.headers.get("X-Search-Backend", "?")] += 1
        return elapsed


def writes(url: str, token: str, file_ids: list[int], project_id: int, stop: threading.Event, done: Counter) -> None:
    """Another client: metadata edits and small uploads, back to back, until ``stop``."""
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    rng = random.Random(5)
    i = 0
    while not stop.is_set():
        i += 1
        if i % 4:
            file_id = rng.choice(file_ids)
            body = {"tissue": rng.choice(["liver", "brain", "blood", "kidney"]), "tags": [f"edit-{i % 7}"]}
            response = session.patch(f"{url}/api/files/{file_id}/", json=body, timeout=60)
            done["edit" if response.status_code == 200 else f"edit {response.status_code}"] += 1
        else:
            files = {"file": (f"bench-{uuid.uuid4().hex}.txt", b"ACGT" * 64)}
            response = session.post(f"{url}/api/files/", data={"project": project_id}, files=files, timeout=60)
            done["upload" if response.status_code == 201 else f"upload {response.status_code}"] += 1


def measure(
    backend: str, env: dict, log_dir: Path, token: str, admin_token: str, workload: list, warmup: list, seen_rng
) -> dict:
    from file_upload.models import File, Project

    service = Service(backend, env, log_dir)
    row: dict = {"backend": backend, "load_before": load_average()}
    try:
        boot = service.start()
        client = Client(service.url, token)
        first = client.search(workload[0])
        first_backend = next(iter(client.answered))
        print(f"  [{backend}] up in {boot:.1f} s; first search after the restart {first:.0f} ms ({first_backend})")
        for params in warmup:  # other queries than those measured: no answer is measured twice
            client.search(params)
        client.answered.clear()
        cpu = service.worker_cpu()
        warm = [client.search(params) for params in workload]
        warm_cpu = (service.worker_cpu() - cpu) * 1000 / len(workload)
        print(f"  [{backend}] warm: web-process CPU per request {warm_cpu:.1f} ms")
        print(f"  [{backend}] warm              {quantiles(warm)}  answered by {dict(client.answered)}")
        client.answered.clear()
        # What a user does next: the same search sorted another way (the SPA asks the facets
        # again with every page and ordering).
        cpu = service.worker_cpu()
        resorted = [client.search({**params, "ordering": "-size"}) for params in workload[:RESORTED]]
        resorted_cpu = (service.worker_cpu() - cpu) * 1000 / RESORTED
        print(f"  [{backend}] same search, re-sorted: web-process CPU per request {resorted_cpu:.1f} ms")
        print(f"  [{backend}] same search, re-sorted {quantiles(resorted)}  answered by {dict(client.answered)}")
        client.answered.clear()
        texts = unseen_texts(seen_rng, max(30, len(workload) // 3))
        cpu = service.worker_cpu()
        unseen = [client.search(params) for params in texts]
        unseen_cpu = (service.worker_cpu() - cpu) * 1000 / len(texts)
        print(f"  [{backend}] never-seen text: web-process CPU per request {unseen_cpu:.1f} ms")
        print(f"  [{backend}] never-seen text   {quantiles(unseen)}  answered by {dict(client.answered)}")
        client.answered.clear()
        project = Project.objects.order_by("id").first()
        ids = list(File.objects.alive().filter(project=project).values_list("id", flat=True)[:2000])
        stop, done = threading.Event(), Counter()
        writer = threading.Thread(target=writes, args=(service.url, admin_token, ids, project.id, stop, done))
        writer.start()
        try:
            busy = [client.search(params) for params in workload]
        finally:
            stop.set()
            writer.join()
        print(
            f"  [{backend}] under writes      {quantiles(busy)}  answered by {dict(client.answered)};"
            f" writes {dict(done)}"
        )
        rss = service.worker_rss()
        print(f"  [{backend}] RSS per web process: {', '.join(f'{mb} MB' for mb in rss)}")
        row.update(
            first=first,
            warm=percentiles(warm),
            resorted=percentiles(resorted),
            resorted_cpu=resorted_cpu,
            unseen=percentiles(unseen),
            busy=percentiles(busy),
            busy_n=len(busy),
            warm_cpu=warm_cpu,
            unseen_cpu=unseen_cpu,
            busy_indexed=client.answered.get(backend, 0) if backend != "sql" else None,
            rss=rss,
            load=f"{row['load_before']} → {load_average()}",
        )
        print(f"  [{backend}] load average {row['load']}", flush=True)
        return row
    finally:
        service.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--seed-only", action="store_true", help="grow the data to the largest size and stop")
    parser.add_argument(
        "--keep-index",
        action="store_true",
        help="measure with the index as it is (rebuilt by `manage.py rebuild_search_index`) instead of rebuilding it",
    )
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database (e.g. .../biofm_search_bench).")
    ensure_database(url)
    # One data directory (index, uploads, logs) per database, so benchmark databases of different
    # sizes never share an index.
    database = url.rsplit("/", 1)[1].split("?")[0]
    os.environ.setdefault("BIOFM_DATA_DIR", str(ROOT / "var" / "search-bench" / database))
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from authentication.services import issue_token
    from file_upload.search import engine, feed

    call_command("migrate", verbosity=0)
    log_dir = Path(settings.DATA_DIR) / "bench-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "BIOFM_DATA_DIR": str(settings.DATA_DIR), "BIOFM_THROTTLE_UPLOAD": "off"}
    env.setdefault("BIOFM_SEARCH_INDEX_DIR", str(settings.BIOFM_SEARCH_INDEX_DIR))
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()}", flush=True)
    rows: list[dict] = []
    rebuilds: list[str] = []
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.seed_only:
        grow_to(max(sizes))
        return
    for size in sizes:
        grow_to(size)
        user, share = half_visible_user()
        admin = get_user_model().objects.filter(username="bench-admin").first()
        if admin is None:
            admin = get_user_model().objects.create_superuser("bench-admin", password="bench-pass-123")
        print(f"\n== {size:,} files; user {user.username} sees {share:.0%} of them", flush=True)
        started, cpu_started = time.monotonic(), time.process_time()
        path = engine.index_dir()
        if args.keep_index:
            searcher = engine.reader().current()[0]
            count = searcher.num_docs - len(searcher.shards)  # each shard's feed position aside
            print("tantivy index kept (not rebuilt; the times below are of nothing)")
        else:
            with engine.writer_lock(path):
                writer = engine.Writer(path)
                count = feed.rebuild(writer, progress=every(5.0))
                writer.close()
        disk = sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20
        rebuild_seconds, rebuild_cpu = time.monotonic() - started, time.process_time() - cpu_started
        shards = f"{engine.shard_count()} shard(s)"
        print(f"tantivy rebuild: {count:,} files in {shards}, {rebuild_seconds:.1f} s, {disk:.0f} MB on disk", end="")
        print(f"; CPU {rebuild_cpu:.1f} s (every thread); load average {load_average()}", flush=True)
        rng = random.Random(args.seed)
        pool = value_pool()
        workload = [random_query(rng, pool) for _ in range(args.queries)]
        warmup = [random_query(rng, pool) for _ in range(10)]
        rebuilds.append(
            f"{size:,} files: rebuild {count:,} in {rebuild_seconds:.1f} s (CPU {rebuild_cpu:.1f} s), {disk:.0f} MB"
        )
        for backend in args.backends.split(","):
            print(f"load average before {backend}: {load_average()}", flush=True)
            tokens = issue_token(user), issue_token(admin)
            row = measure(backend, env, log_dir, *tokens, workload, warmup, random.Random(size))
            rows.append({**row, "size": size})
    print("\n" + summary_table(rows))
    print("\n".join(f"tantivy {line}" for line in rebuilds))


if __name__ == "__main__":
    main()
