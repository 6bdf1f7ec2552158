"""The performance and resilience suite: one command, a fresh server, a results file.

    .venv/bin/python performance_test_project/run.py --quick     # < 5 minutes on 2 cores
    .venv/bin/python performance_test_project/run.py             # up to 1 GB
    .venv/bin/python performance_test_project/run.py --full      # up to 10 GB (needs ~40 GB free disk)

Starts gunicorn (2 gthread workers × 8 threads, as start_services.sh) and a Celery worker on a
throw-away data directory under var/ on free ports (SQLite there, or PostgreSQL database
``biofm_perf`` recreated on the server named by ``DATABASE_URL`` when that is set), plus nginx,
an OpenSSH server (scp, rsync) and ``python -m http.server`` with their own configs, all on
127.0.0.1. Then: throughput, concurrency, resume, lossy network. Writes
``results/<date>-<mode>.md``, ``.json`` and ``.png`` and prints the summary table.

Targets are reported, never asserted: the exit status is non-zero only when the suite itself
breaks (a server that does not start, a scenario that raises).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from performance_test_project import concurrency, report, resilience, throughput  # noqa: E402
from performance_test_project.baselines import HttpServer, SshServer  # noqa: E402
from performance_test_project.common import (  # noqa: E402
    MIB,
    ROOT,
    AppServer,
    TusUpload,
    download,
    free_port,
    request,
    start_nginx,
    stop,
)

MB = 1000**2
MODES = {
    "quick": {
        "sizes": [10 * MB, 100 * MB],
        "rounds": 1,
        "levels": [1, 10, 50, 100],
        "seconds": 10,
        "think_ms": 1000,
        "seed_files": 120,
        "resume_bytes": 64 * MIB,
        "lossy_bytes": 32 * MIB,
        "lossy_chunk": 2 * MIB,
        "lossy_downloads": 3,
    },
    "standard": {
        "sizes": [10 * MB, 100 * MB, 1000 * MB],
        "rounds": 2,
        "levels": [1, 10, 50, 100],
        "seconds": 30,
        "think_ms": 1000,
        "seed_files": 500,
        "resume_bytes": 256 * MIB,
        "lossy_bytes": 128 * MIB,
        "lossy_chunk": 4 * MIB,
        "lossy_downloads": 4,
    },
    "full": {
        "sizes": [10 * MB, 100 * MB, 1000 * MB, 10_000 * MB],
        "rounds": 2,
        "levels": [1, 10, 50, 100],
        "seconds": 60,
        "think_ms": 1000,
        "seed_files": 2000,
        "resume_bytes": 1024 * MIB,
        "lossy_bytes": 512 * MIB,
        "lossy_chunk": 8 * MIB,
        "lossy_downloads": 4,
    },
}
SECTIONS = ["throughput", "concurrency", "resume", "lossy"]


def log(message: str) -> None:
    print(message, flush=True)


def perf_database_url() -> str:
    """``DATABASE_URL`` with the database swapped for ``biofm_perf``, dropped and created fresh;
    empty (SQLite in the work directory) when ``DATABASE_URL`` is unset or not PostgreSQL."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return ""
    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS biofm_perf WITH (FORCE)")
        conn.execute("CREATE DATABASE biofm_perf")
    return urlunsplit(parts._replace(path="/biofm_perf"))


def drop_perf_database(database_url: str) -> None:
    if not database_url:
        return
    import psycopg

    admin = urlunsplit(urlsplit(database_url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS biofm_perf WITH (FORCE)")


def environment(database_url: str) -> dict:
    def sh(*cmd: str) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT).stdout.strip()
        except OSError:
            return ""

    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = int(Path("/proc/meminfo").read_text().split()[1]) / 1024**2
    changed = sh("git", "status", "--porcelain", "--untracked-files=no")
    return {
        "commit": sh("git", "rev-parse", "--short", "HEAD") + ("+dirty" if changed else ""),
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "mem_gib": mem,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "database": "PostgreSQL (biofm_perf)" if database_url else "SQLite (WAL)",
        "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def warm_up(app: AppServer, token: str, project: int, workdir: Path) -> None:
    """A few small uploads and downloads, so no measurement pays for a worker's first request
    (imports, database connections)."""
    source = workdir / "warm-up.bin"
    source.write_bytes(os.urandom(256 * 1024))
    for n in range(6):
        upload = TusUpload(app.port, token, project, source, filename=f"warm-up-{n}.bin")
        upload.run()
        download(app.port, f"/api/files/{upload.file_id()}/download/", headers={"Authorization": f"Token {token}"})
        request(app.port, "GET", "/api/files/", headers={"Authorization": f"Token {token}"}).read_status()
    source.unlink()


def integrity(data: dict) -> dict:
    counts = {tool: [0, 0] for tool in report.COLUMNS}
    for sizes in (data.get("throughput") or {}).values():
        for tool in report.COLUMNS:
            if tool in sizes:
                counts[tool][0] += int(sizes[tool]["sha256_ok"])
                counts[tool][1] += 1
    for part in (data.get("resume") or {}).values():
        if isinstance(part, dict) and "sha256_ok" in part:
            counts["biofm"][0] += int(part["sha256_ok"])
            counts["biofm"][1] += 1
        for tool, baseline in (part.get("baselines") or {}).items():
            counts[tool][0] += int(baseline["sha256_ok"])
            counts[tool][1] += 1
    lossy = data.get("lossy") or {}
    for label in ("clean", "lossy"):
        if label in lossy:
            counts["biofm"][0] += int(lossy[label]["sha256_ok"])
            counts["biofm"][1] += 1
    return {tool: tuple(value) for tool, value in counts.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_const", const="quick", dest="mode")
    mode.add_argument("--full", action="store_const", const="full", dest="mode")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated subset of {SECTIONS}")
    parser.add_argument("--skip", default="", help="resume scenarios to leave out, e.g. server_killed")
    parser.add_argument("--sizes-mb", help="override the throughput sizes, e.g. 10,100")
    parser.add_argument("--levels", help="override the client counts, e.g. 1,10,100")
    parser.add_argument("--seconds", type=float, help="override the seconds per concurrency level")
    parser.add_argument("--think-ms", type=int, help="override the think time between a client's operations")
    parser.add_argument("--results", type=Path, default=ROOT / "performance_test_project" / "results")
    parser.add_argument("--no-write", action="store_true", help="print only; write no results file")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    args.mode = args.mode or "standard"
    settings = dict(MODES[args.mode])
    if args.sizes_mb:
        settings["sizes"] = [int(x) * MB for x in args.sizes_mb.split(",")]
    if args.levels:
        settings["levels"] = [int(x) for x in args.levels.split(",")]
    for name in ("seconds", "think_ms"):
        if getattr(args, name) is not None:
            settings[name] = getattr(args, name)
    sections = [s for s in args.only.split(",") if s]

    started = time.monotonic()
    date = datetime.now(UTC)
    (ROOT / "var").mkdir(exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="perf-suite-", dir=ROOT / "var"))
    database_url = perf_database_url()
    data: dict = {
        "date": f"{date:%Y-%m-%d %H:%M} UTC",
        "mode": args.mode,
        "command": "python performance_test_project/run.py"
        + ("" if args.mode == "standard" else f" --{args.mode}")
        + ("" if args.only == ",".join(SECTIONS) else f" --only {args.only}")
        + (f" --skip {args.skip}" if args.skip else ""),
        "settings": {**settings, "sizes": settings["sizes"]},
        "environment": environment(database_url),
        "concurrency_mix": concurrency.MIX,
        "failures": {},
    }
    app = nginx = ssh = http = None
    nginx_port = 0
    log(f"BioFileManager performance suite ({args.mode}) in {workdir}")
    try:
        log("starting gunicorn + Celery worker on a fresh " + data["environment"]["database"])
        app = AppServer(workdir / "app", database_url=database_url)
        app.migrate()
        app.start()
        app.start_worker()
        token, project = app.create_user("perf", "perf")
        warm_up(app, token, project, workdir)

        if "throughput" in sections or "resume" in sections:
            log("starting nginx, sshd and http.server")
            nginx_port = free_port()
            nginx = start_nginx(workdir, nginx_port)
            ssh = SshServer(workdir)
            ssh.start()
            http = HttpServer(workdir / "http-root")
            http.start()
        if "throughput" in sections:
            log("throughput")
            servers = throughput.Servers(workdir, app, token, project, nginx_port, ssh, http)
            try:
                data["throughput"] = throughput.run(servers, settings["sizes"], settings["rounds"], log)
            except Exception as exc:  # noqa: BLE001 - recorded; the other sections still run
                data["failures"]["throughput"] = f"{type(exc).__name__}: {exc}"
                traceback.print_exc()

        if "concurrency" in sections:
            try:
                log(f"concurrency: seeding {settings['seed_files']} files")
                seed_token, seed_project = app.create_user("lab", "lab-data")
                out = app.shell(
                    f"from performance_test_project.seed import seed; seed({seed_project}, {settings['seed_files']})"
                )
                file_ids = json.loads(out.strip().splitlines()[-1])
                data["concurrency"] = concurrency.run(
                    app.port, seed_token, seed_project, file_ids, settings["levels"], settings["seconds"],
                    settings["think_ms"] / 1000, log,
                )  # fmt: skip
            except Exception as exc:  # noqa: BLE001
                data["failures"]["concurrency"] = f"{type(exc).__name__}: {exc}"
                traceback.print_exc()

        if "resume" in sections:
            log("resume")
            data["resume"] = {}
            work = workdir / "resume"
            work.mkdir()
            download_cut = functools.partial(resilience.download_cut, nginx_port=nginx_port, http_server=http)
            for name, scenario in (
                ("client_killed", functools.partial(resilience.client_killed, ssh=ssh)),
                ("download_cut", download_cut),
                ("server_killed", resilience.server_killed),
            ):
                if name in args.skip.split(","):
                    continue
                try:
                    data["resume"][name] = scenario(app, token, project, work, settings["resume_bytes"], log)
                except Exception as exc:  # noqa: BLE001
                    data["failures"][f"resume.{name}"] = f"{type(exc).__name__}: {exc}"
                    traceback.print_exc()
                    if app.proc is None or app.proc.poll() is not None:
                        app.start()

        if "lossy" in sections:
            log("lossy network (fault-injecting proxy)")
            work = workdir / "lossy"
            work.mkdir()
            try:
                data["lossy"] = resilience.lossy(
                    app, token, project, work, settings["lossy_bytes"], settings["lossy_chunk"],
                    settings["lossy_downloads"], 0.3, log,
                )  # fmt: skip
            except Exception as exc:  # noqa: BLE001
                data["failures"]["lossy"] = f"{type(exc).__name__}: {exc}"
                traceback.print_exc()
    except Exception as exc:  # noqa: BLE001 - the setup broke: report what we have
        data["failures"]["setup"] = f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
    finally:
        if app is not None:
            app.stop()
        for server in (ssh, http):
            if server is not None:
                server.stop()
        stop(nginx)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
            drop_perf_database(database_url)

    data["environment"]["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    data["duration_s"] = time.monotonic() - started
    data["integrity"] = integrity(data)
    stem = f"{date:%Y-%m-%d}-{args.mode}"
    if not args.no_write:
        args.results.mkdir(parents=True, exist_ok=True)
        if data.get("throughput") and report.plot(data["throughput"], args.results / f"{stem}.png"):
            data["plot"] = f"{stem}.png"
        (args.results / f"{stem}.json").write_text(json.dumps(data, indent=2, default=str) + "\n")
        (args.results / f"{stem}.md").write_text(report.markdown(data) + "\n")
    log("")
    log("\n".join(report.headline(data)))
    if not args.no_write:
        log(f"\nresults: {args.results / stem}.md (.json, .png)")
    if data["failures"]:
        log(f"suite failures: {data['failures']}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
