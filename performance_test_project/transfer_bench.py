"""Transfer benchmark: our tus upload and Range-capable download against nginx on the same disk.

    .venv/bin/python performance_test_project/transfer_bench.py [--size-mib 1024] [--chunk-mib 64]

Starts, in one run and on the same disk (a fresh directory under var/):
- nginx (Debian package; installed with apt-get when missing and run as root) with its own
  config on 127.0.0.1, serving GET and accepting WebDAV PUT;
- gunicorn with the app (gthread, 2 workers × 8 threads, as start_services.sh runs it) and a
  Celery worker (solo pool) on a fresh SQLite database.
Then it moves one random file of ``--size-mib`` both ways through each server with the same
HTTP client (http.client, 1 MiB blocks): tus creation + PATCHes of ``--chunk-mib`` against
nginx PUT, and ``/api/files/<id>/download/`` against nginx GET.

The upload is timed twice: until the last PATCH is answered (every byte received and, per
``--fsync``, on disk: what a tus client waits for), and until the upload's status says
``completed`` (the worker has computed SHA-256 and MD5 of the whole file, moved it into place
and created the File: what a user waits for before the file is listed). It prints MB/s and the
ratios to nginx for both (target: upload ≥ 0.5× nginx PUT, download ≥ 0.8× nginx GET), the
peak RSS of the gunicorn workers and of the Celery worker, and checks the stored SHA-256 and
MD5.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
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
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--chunk-mib", type=int, default=64)
    parser.add_argument(
        "--fsync",
        default=os.environ.get("BIOFM_UPLOAD_FSYNC", "completion"),
        choices=["completion", "chunk", "off"],
        help="BIOFM_UPLOAD_FSYNC for our server (nginx never syncs)",
    )
    parser.add_argument("--rounds", type=int, default=2, help="transfers per side; the best counts")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    (ROOT / "var").mkdir(exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="transfer-bench-", dir=ROOT / "var"))
    size = args.size_mib * MIB
    nginx_port = free_port()
    nginx = app = None
    try:
        source = workdir / "sample.bin"
        print(f"generating {args.size_mib} MiB of random data in {workdir} ...", flush=True)
        expected = make_source(source, size)
        expected_md5 = md5_file(source)
        nginx = start_nginx(workdir, nginx_port)
        app = AppServer(workdir, extra_env={"BIOFM_UPLOAD_FSYNC": args.fsync})
        app.migrate()
        app.start()
        app.start_worker()
        token, project = app.create_user("bench", "bench")

        # Each transfer starts with no dirty pages (os.sync), and each runs --rounds times in
        # alternating order; the best time counts, so neither side pays for the other's writeback.
        nginx_put = tus_time = ready_time = nginx_get = ours_get = float("inf")
        file_id = 0
        status: dict = {}
        for round_no in range(args.rounds):
            for side in ("ours", "nginx") if round_no % 2 == 0 else ("nginx", "ours"):
                os.sync()
                if side == "nginx":
                    nginx_put = min(nginx_put, upload_put(nginx_port, f"/put/{round_no}-{source.name}", source))
                else:
                    upload = TusUpload(
                        app.port, token, project, source, chunk=args.chunk_mib * MIB, filename=f"{round_no}-sample"
                    )
                    started = time.perf_counter()
                    tus_time = min(tus_time, upload.run().seconds)
                    status = upload.wait_ready(poll=0.01)
                    ready_time = min(ready_time, time.perf_counter() - started)
                    file_id = int(status["file"])
        rss = app.peak_rss_mib()
        worker_rss = app.worker_peak_rss_mib()
        for round_no in range(args.rounds):
            os.sync()
            stats, nginx_sha, _ = download(nginx_port, f"/put/{round_no}-{source.name}")
            nginx_get = min(nginx_get, stats.seconds)
            stats, ours_sha, _ = download(
                app.port, f"/api/files/{file_id}/download/", headers={"Authorization": f"Token {token}"}
            )
            ours_get = min(ours_get, stats.seconds)
        stored_sha = app.stored_sha256(file_id)
        assert nginx_sha == expected and ours_sha == expected and stored_sha == expected, "integrity check failed"
        assert status["sha256"] == expected and status["md5"] == expected_md5, "the reported checksums are wrong"

        mb = size / 1e6
        rows = {
            "upload_tus_mb_s": mb / tus_time,
            "upload_until_ready_mb_s": mb / ready_time,
            "upload_nginx_put_mb_s": mb / nginx_put,
            "download_ours_mb_s": mb / ours_get,
            "download_nginx_get_mb_s": mb / nginx_get,
        }
        rows["upload_ratio"] = rows["upload_tus_mb_s"] / rows["upload_nginx_put_mb_s"]
        rows["upload_until_ready_ratio"] = rows["upload_until_ready_mb_s"] / rows["upload_nginx_put_mb_s"]
        rows["download_ratio"] = rows["download_ours_mb_s"] / rows["download_nginx_get_mb_s"]
        rows["worker_peak_rss_mib"] = rss
        rows["celery_worker_peak_rss_mib"] = worker_rss
        rows["fsync"] = args.fsync
        print(
            f"\n{args.size_mib} MiB, tus chunks of {args.chunk_mib} MiB, BIOFM_UPLOAD_FSYNC={args.fsync}, "
            f"same disk, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
        )
        print(f"{'':34}{'ours':>10}{'nginx':>10}{'ratio':>8}{'target':>9}")
        print(
            f"{'upload, last PATCH answered (MB/s)':34}{rows['upload_tus_mb_s']:10.1f}"
            f"{rows['upload_nginx_put_mb_s']:10.1f}{rows['upload_ratio']:8.2f}{'≥ 0.5':>9}"
        )
        print(
            f"{'upload, until File ready (MB/s)':34}{rows['upload_until_ready_mb_s']:10.1f}"
            f"{rows['upload_nginx_put_mb_s']:10.1f}{rows['upload_until_ready_ratio']:8.2f}{'':>9}"
        )
        print(
            f"{'download (MB/s)':34}{rows['download_ours_mb_s']:10.1f}{rows['download_nginx_get_mb_s']:10.1f}"
            f"{rows['download_ratio']:8.2f}{'≥ 0.8':>9}"
        )
        print(
            f"peak RSS during the uploads: gunicorn worker {rss:.0f} MiB, Celery worker {worker_rss:.0f} MiB; "
            "SHA-256 verified on all copies, the reported SHA-256 and MD5 on ours"
        )
        results = ROOT / "performance_test_project" / "results"
        results.mkdir(exist_ok=True)
        (results / f"transfer-{datetime.now(UTC):%Y%m%d-%H%M%S}.json").write_text(json.dumps(rows, indent=2))
    finally:
        if app is not None:
            app.stop()
        stop(nginx)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
