"""The concurrency workload of the suite, side by side: two or more servers (another commit's
code, other worker settings) under the same load, taking turns, in one run.

    .venv/bin/python performance_test_project/concurrency_ab.py --sides main:2x8,.:2x8,.:4x4 \\
        [--clients 100] [--seconds 30] [--rounds 3] [--seed-files 2000]

A side is ``<git ref>:<workers>x<threads>``; ``.`` is the working tree as it is, any other ref
is exported with ``git archive`` into the work directory. Every side gets its own gunicorn
(gthread), Celery worker, fresh SQLite database (or its own PostgreSQL database named
``biofm_ab_<n>`` on the server in ``DATABASE_URL``) and the same seeded files; then each round
runs ``concurrency.run_level`` against every side in turn, the order rotating per round, so a
busy spell on a shared machine falls on all of them. Prints one line per side per round — with
the gunicorn workers' CPU time per request, which other load on the machine does not inflate as
it does latencies — and the medians; writes ``results/concurrency-ab-<date>.json``. Everything listens on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from performance_test_project import concurrency  # noqa: E402
from performance_test_project.common import ROOT, AppServer, source_tree  # noqa: E402


def database_for(n: int) -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return ""
    import psycopg

    parts = urlsplit(url)
    name = f"biofm_ab_{n}"
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return urlunsplit(parts._replace(path=f"/{name}"))


def cpu_seconds(master: int) -> float:
    """User + system CPU of a gunicorn master's workers so far (a noise-free cost per request on
    a machine whose other load makes latencies swing)."""
    total = 0
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:  # field 4, ppid
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sides", default="main:2x8,.:2x8", help="comma-separated <ref>:<workers>x<threads>")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--think-ms", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed-files", type=int, default=2000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    (ROOT / "var").mkdir(exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="concurrency-ab-", dir=ROOT / "var"))
    sides: list[dict] = []
    try:
        for n, spec in enumerate(args.sides.split(",")):
            ref, _, shape = spec.rpartition(":")
            workers, threads = (int(x) for x in shape.split("x"))
            app = AppServer(
                workdir / f"side-{n}",
                database_url=database_for(n),
                workers=workers,
                threads=threads,
                root=source_tree(ref, workdir),
            )
            label = f"{ref if ref != '.' else 'this tree'} {workers}x{threads}"
            print(f"starting {label} on port {app.port}; seeding {args.seed_files} files", flush=True)
            app.migrate()
            app.start()
            app.start_worker()
            token, project = app.create_user("lab", "lab-data")
            out = app.shell(f"from performance_test_project.seed import seed; seed({project}, {args.seed_files})")
            file_ids = json.loads(out.strip().splitlines()[-1])
            sides.append({"label": label, "app": app, "token": token, "project": project, "files": file_ids})
        print(
            f"\n{args.clients} clients, {args.seconds:.0f} s per turn, think {args.think_ms} ms, "
            f"load {os.getloadavg()[0]:.1f}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
        )
        print(
            f"{'round':>5}  {'side':24} {'ok %':>8} {'mean ms':>8} {'p50':>7} {'p95':>7} {'p99':>7} {'req/s':>6} "
            f"{'CPU ms/req':>10}"
        )
        results: dict[str, list[dict]] = {side["label"]: [] for side in sides}
        for round_no in range(args.rounds):
            order = sides[round_no % len(sides) :] + sides[: round_no % len(sides)]
            for side in order:
                cpu_before = cpu_seconds(side["app"].proc.pid)
                result = asyncio.run(
                    concurrency.run_level(
                        side["app"].port, side["token"], side["project"], side["files"], args.clients,
                        args.seconds, args.think_ms / 1000, seed=round_no + 1,
                    )
                )  # fmt: skip
                result["load"] = os.getloadavg()[0]
                cpu = cpu_seconds(side["app"].proc.pid) - cpu_before
                result["cpu_ms_per_request"] = cpu * 1000 / result["requests"] if result["requests"] else 0.0
                results[side["label"]].append(result)
                print(
                    f"{round_no + 1:>5}  {side['label']:24} {result['success_rate'] * 100:8.3f} "
                    f"{result['mean_ms']:8.1f} {result['p50_ms']:7.1f} {result['p95_ms']:7.1f} "
                    f"{result['p99_ms']:7.1f} {result['req_per_s']:6.1f} {result['cpu_ms_per_request']:10.1f}"
                    f"   load {result['load']:.1f}",
                    flush=True,
                )
        print("\nmedians over the rounds, and the slowest request kinds (mean ms)")
        for label, rows in results.items():
            mean = statistics.median(r["mean_ms"] for r in rows)
            p95 = statistics.median(r["p95_ms"] for r in rows)
            ok = min(r["success_rate"] for r in rows) * 100
            cpu = statistics.median(r["cpu_ms_per_request"] for r in rows)
            kinds: dict[str, list[float]] = {}
            for row in rows:
                for kind, figures in row["by_request"].items():
                    kinds.setdefault(kind, []).append(figures["mean_ms"])
            slowest = sorted(((statistics.median(v), k) for k, v in kinds.items()), reverse=True)[:4]
            print(
                f"  {label:24} mean {mean:7.1f}  p95 {p95:7.1f}  success ≥ {ok:.3f} %  CPU {cpu:.1f} ms/request  "
                + ", ".join(f"{k} {v:.0f}" for v, k in slowest)
            )
        out_dir = ROOT / "performance_test_project" / "results"
        out_dir.mkdir(exist_ok=True)
        (out_dir / f"concurrency-ab-{datetime.now(UTC):%Y%m%d-%H%M%S}.json").write_text(
            json.dumps({"args": vars(args), "results": results}, indent=2, default=str)
        )
    finally:
        for side in sides:
            side["app"].stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
