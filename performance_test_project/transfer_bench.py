"""Transfer benchmark: our tus upload and Range-capable download against nginx on the same disk.

    .venv/bin/python performance_test_project/transfer_bench.py [--sizes-mib 512,1024] [--chunk-mib 64] [--rounds 3]
    .venv/bin/python performance_test_project/transfer_bench.py --with-10g    # 512 MiB, 1 GiB and 10 GiB

Starts, in one run and on the same disk (a fresh directory under var/):
- nginx (Debian package; installed with apt-get when missing and run as root) with its own
  config on 127.0.0.1, serving GET and accepting WebDAV PUT;
- gunicorn with the app (gthread, 2 workers × 8 threads, as start_services.sh runs it) and a
  Celery worker (solo pool) on a fresh SQLite database.
Then it moves one random file of ``--size-mib`` both ways through each server with the same
HTTP client (http.client, 1 MiB blocks): tus creation + PATCHes of ``--chunk-mib`` against
nginx PUT, and ``/api/files/<id>/download/`` against nginx GET.

The upload is timed twice: until the last PATCH is answered (every byte received and, per
``--fsync``, on disk: what a tus client waits for), and until it is verified (the upload's
status says ``completed``: the File exists with its SHA-256 — what a user waits for before the
file is listed and can be used). Every round prints both side by side with nginx PUT of the same
file in the same round, and with nginx PUT followed by an fdatasync of the file it wrote
("nginx+sync": the same bytes made durable, as ours are with ``--fsync completion``). The order
alternates, so a busy spell on the shared machine hits both sides; before the first round each
side moves one 64 MiB file untimed, so no round pays for imports, first connections or cold
caches. With the ratios (targets: until verified ≥ 0.7×
nginx PUT at 1 GiB; download ≥ 0.8× nginx GET), then the time until the MD5, which the Celery
worker computes afterwards, is filled in, the peak RSS of the gunicorn workers and of the Celery
worker, and the checks of the stored SHA-256 and MD5. ``--baseline-ref main`` adds a third
side: the same upload to a server running that commit's code (its own gunicorn, Celery worker
and database), in the same rotation.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from performance_test_project.common import (
    MIB,
    ROOT,
    AppServer,
    TusUpload,
    download,
    free_port,
    make_source,
    request,
    source_tree,
    start_nginx,
    stop,
    upload_put,
)


def md5_file(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while chunk := handle.read(8 * MIB):
            digest.update(chunk)
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes-mib", default="512,1024", help="comma-separated file sizes")
    parser.add_argument(
        "--with-10g", action="store_true", help="add a 10 GiB size (about 31 GiB of free disk; check df -h)"
    )
    parser.add_argument("--chunk-mib", type=int, default=64)
    parser.add_argument(
        "--fsync",
        default=os.environ.get("BIOFM_UPLOAD_FSYNC", "completion"),
        choices=["completion", "chunk", "off"],
        help="BIOFM_UPLOAD_FSYNC for our server (nginx never syncs)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="transfers per side and size")
    parser.add_argument(
        "--baseline-ref", help="also upload to a server running this git ref's code (e.g. main), side by side"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    (ROOT / "var").mkdir(exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="transfer-bench-", dir=ROOT / "var"))
    nginx_port = free_port()
    nginx = app = base = None
    baseline: tuple | None = None
    results: dict = {"fsync": args.fsync, "chunk_mib": args.chunk_mib, "load_before": os.getloadavg(), "sizes": {}}
    try:
        nginx = start_nginx(workdir, nginx_port)
        app = AppServer(workdir, extra_env={"BIOFM_UPLOAD_FSYNC": args.fsync})
        app.migrate()
        app.start()
        app.start_worker()
        token, project = app.create_user("bench", "bench")
        if args.baseline_ref:
            base = AppServer(
                workdir / "baseline",
                extra_env={"BIOFM_UPLOAD_FSYNC": args.fsync},
                root=source_tree(args.baseline_ref, workdir),
            )
            base.migrate()
            base.start()
            base.start_worker()
            baseline = (base, *base.create_user("bench", "bench"))
        sizes = [int(x) for x in args.sizes_mib.split(",")]
        if args.with_10g and 10240 not in sizes:
            sizes.append(10240)
        results["warm_up_s"] = warm_up(workdir, nginx_port, [(app, token, project), *([baseline] if baseline else [])])
        for size_mib in sizes:
            results["sizes"][size_mib] = bench_size(args, workdir, app, token, project, nginx_port, size_mib, baseline)
        results["gunicorn_worker_peak_rss_mib"] = app.peak_rss_mib()
        results["celery_worker_peak_rss_mib"] = app.worker_peak_rss_mib()
        results["load_after"] = os.getloadavg()
        print(
            f"\npeak RSS: gunicorn worker {results['gunicorn_worker_peak_rss_mib']:.0f} MiB, Celery worker "
            f"{results['celery_worker_peak_rss_mib']:.0f} MiB; load {results['load_before'][0]:.1f} before, "
            f"{results['load_after'][0]:.1f} after (2 cores, shared)"
        )
        out = ROOT / "performance_test_project" / "results"
        out.mkdir(exist_ok=True)
        (out / f"transfer-{datetime.now(UTC):%Y%m%d-%H%M%S}.json").write_text(json.dumps(results, indent=2))
    finally:
        for server in (app, base):
            if server is not None:
                server.stop()
        stop(nginx)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def bench_size(
    args,
    workdir: Path,
    app: AppServer,
    token: str,
    project: int,
    nginx_port: int,
    size_mib: int,
    baseline: tuple | None = None,
) -> dict:
    size = size_mib * MIB
    mb = size / 1e6
    source = workdir / f"sample-{size_mib}.bin"
    print(f"\ngenerating {size_mib} MiB of random data in {workdir} ...", flush=True)
    expected = make_source(source, size)
    expected_md5 = md5_file(source)
    print(
        f"{size_mib} MiB, tus chunks of {args.chunk_mib} MiB, BIOFM_UPLOAD_FSYNC={args.fsync}, same disk, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load {os.getloadavg()[0]:.1f}"
    )
    header = ("round", "last PATCH", "verified", "nginx PUT", "ratio", "verified/nginx")
    header += ("nginx+sync", "verified/synced")
    extra = ("before: last PATCH", "verified", "verified/nginx") if baseline else ()
    print(
        ("{:>5} {:>11} {:>9} {:>10} {:>6} {:>15} {:>11} {:>16}" + " {:>19} {:>9} {:>15}" * bool(extra)).format(
            *header, *extra
        )
    )
    servers = {"ours": (app, token, project)}
    if baseline:
        servers["before"] = baseline
    sides = [*servers, "nginx"]
    rounds = []
    file_ids: dict[str, int] = {}
    for round_no in range(args.rounds):
        row: dict = {}
        # Each transfer starts with no dirty pages (os.sync); the order rotates per round.
        for side in sides[round_no % len(sides) :] + sides[: round_no % len(sides)]:
            os.sync()
            if side == "nginx":
                put_seconds = upload_put(nginx_port, f"/put/{size_mib}-{round_no}", source)
                row["nginx_put_mb_s"] = mb / put_seconds
                # The same bytes made durable: nginx's PUT never syncs, ours does at completion
                # (BIOFM_UPLOAD_FSYNC=completion), so this is the like-for-like baseline.
                stored = workdir / "nginx-root" / "put" / f"{size_mib}-{round_no}"
                row["nginx_durable_mb_s"] = mb / (put_seconds + fdatasync_seconds(stored))
                stored.unlink(missing_ok=True)
                continue
            server, server_token, server_project = servers[side]
            if side in file_ids:
                server.discard_file(file_ids[side])  # the disk holds one copy per side at a time
            upload = TusUpload(
                server.port, server_token, server_project, source, chunk=args.chunk_mib * MIB,
                filename=f"{size_mib}-{round_no}",
            )  # fmt: skip
            started = time.perf_counter()
            prefix = "" if side == "ours" else "before_"
            row[f"{prefix}last_patch_mb_s"] = mb / upload.run().seconds
            status = upload.wait_ready(poll=0.005)
            row[f"{prefix}verified_mb_s"] = mb / (time.perf_counter() - started)
            assert status["sha256"] == expected, f"the SHA-256 reported by {side} is wrong"
            file_ids[side] = int(status["file"])
        for prefix in ("", "before_") if baseline else ("",):
            row[f"{prefix}last_patch_ratio"] = row[f"{prefix}last_patch_mb_s"] / row["nginx_put_mb_s"]
            row[f"{prefix}verified_ratio"] = row[f"{prefix}verified_mb_s"] / row["nginx_put_mb_s"]
            row[f"{prefix}verified_durable_ratio"] = row[f"{prefix}verified_mb_s"] / row["nginx_durable_mb_s"]
        rounds.append(row)
        print(format_row(str(round_no + 1), row, baseline is not None), flush=True)
    file_id = file_ids["ours"]
    if baseline:
        baseline[0].discard_file(file_ids["before"])
    started = time.perf_counter()
    md5 = wait_md5(app, token, file_id)
    md5_seconds = time.perf_counter() - started
    assert md5 == expected_md5, "the MD5 filled in afterwards is wrong"
    nginx_get = ours_get = float("inf")
    upload_put(nginx_port, f"/put/{size_mib}-get", source)
    for _ in range(2):
        os.sync()
        stats, nginx_sha, _ = download(nginx_port, f"/put/{size_mib}-get")
        nginx_get = min(nginx_get, stats.seconds)
        stats, ours_sha, _ = download(
            app.port, f"/api/files/{file_id}/download/", headers={"Authorization": f"Token {token}"}
        )
        ours_get = min(ours_get, stats.seconds)
    (workdir / "nginx-root" / "put" / f"{size_mib}-get").unlink(missing_ok=True)
    stored_sha = app.stored_sha256(file_id)
    assert nginx_sha == expected and ours_sha == expected and stored_sha == expected, "integrity check failed"
    app.discard_file(file_id)
    source.unlink()
    median = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    print(format_row("median", median, baseline is not None) + "   target: verified ≥ 0.7× nginx PUT at 1 GiB")
    print(
        f"MD5 filled in by the worker {md5_seconds:.1f} s after the rounds ended; download "
        f"{mb / ours_get:.0f} MB/s vs nginx GET {mb / nginx_get:.0f} ({mb / ours_get / (mb / nginx_get):.2f}×, "
        "target ≥ 0.8); SHA-256 checked on every copy, the reported SHA-256 each round, the MD5 once"
    )
    return {
        "rounds": rounds,
        "median": median,
        "md5_after_s": md5_seconds,
        "download_ours_mb_s": mb / ours_get,
        "download_nginx_get_mb_s": mb / nginx_get,
    }


def warm_up(workdir: Path, nginx_port: int, servers: list[tuple]) -> float:
    """One untimed 64 MiB transfer through every side (imports, first connections and the
    database's first writes done before anything is timed); returns how long it took."""
    started = time.perf_counter()
    source = workdir / "warm-up.bin"
    make_source(source, 64 * MIB)
    upload_put(nginx_port, "/put/warm-up", source)
    (workdir / "nginx-root" / "put" / "warm-up").unlink(missing_ok=True)
    for server, token, project in servers:
        upload = TusUpload(server.port, token, project, source, chunk=16 * MIB, filename="warm-up")
        upload.run()
        server.discard_file(int(upload.wait_ready(poll=0.005)["file"]))
    source.unlink()
    return time.perf_counter() - started


def fdatasync_seconds(path: Path) -> float:
    """How long making ``path``'s written bytes durable takes (what nginx's PUT leaves undone)."""
    started = time.perf_counter()
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fdatasync(fd)
    finally:
        os.close(fd)
    return time.perf_counter() - started


def format_row(label: str, row: dict, with_baseline: bool) -> str:
    line = (
        f"{label:>5} {row['last_patch_mb_s']:11.0f} {row['verified_mb_s']:9.0f} "
        f"{row['nginx_put_mb_s']:10.0f} {row['last_patch_ratio']:6.2f} {row['verified_ratio']:15.2f}"
        f" {row['nginx_durable_mb_s']:11.0f} {row['verified_durable_ratio']:16.2f}"
    )
    if with_baseline:
        line += (
            f" {row['before_last_patch_mb_s']:19.0f} {row['before_verified_mb_s']:9.0f} "
            f"{row['before_verified_ratio']:15.2f}"
        )
    return line


def wait_md5(app: AppServer, token: str, file_id: int, timeout: float = 600) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = request(app.port, "GET", f"/api/files/{file_id}/", headers={"Authorization": f"Token {token}"})
        data = response.json()
        if "md5" in data["final_checksums"]:
            return data["md5"]
        time.sleep(0.05)
    raise RuntimeError(f"file {file_id}: no MD5 after {timeout} s")


if __name__ == "__main__":
    main()
