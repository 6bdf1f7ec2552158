"""Download as zip: peak memory and speed of the streamed archive against Info-ZIP's ``zip``.

    .venv/bin/python performance_test_project/zip_bench.py [--gib 2] [--keep]

Writes a folder of ``--gib`` GiB (default 2) into a temporary store: half gzip-like random bytes
(``*.fastq.gz``, stored at deflate level 0) and half FASTQ text (deflated at level 1), 64 MiB
per file. A child process then streams ``file_download.zips.stream_archive`` over them into
``/dev/null`` — the same generator the zip view hands to the WSGI server — and reports its wall
time and peak RSS (VmHWM). The baseline, in the same run: ``zip -r -1 -q - <folder>`` into
``/dev/null`` (peak RSS from the child's rusage). A last pass writes our archive to disk and
checks it with ``unzip -tq``. Target: peak RSS independent of the folder's size (< 150 MB).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILE_BYTES = 64 * 1024 * 1024

CHILD = """
import json, os, sys, time
sys.path.insert(0, {root!r})
os.environ["BIOFM_DATA_DIR"] = {data!r}
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "file_project.settings")
import django
django.setup()
from django.conf import settings
settings.FILES_DIR = {files!r}
from datetime import datetime, UTC
from file_download.zips import ZipMember, stream_archive
names = sorted(os.listdir({files!r}))
members = [ZipMember("raw/" + n, i, n, os.path.getsize(os.path.join({files!r}, n)), datetime.now(UTC))
           for i, n in enumerate(names)]
start = time.perf_counter()
total = 0
with open({out!r}, "wb") as sink:
    for chunk in stream_archive(members):
        total += len(chunk)
        sink.write(chunk)
elapsed = time.perf_counter() - start
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
print(json.dumps({{"seconds": elapsed, "bytes": total, "peak_rss_mib": hwm / 1024}}))
"""


def make_folder(files: Path, gib: float) -> int:
    files.mkdir(parents=True)
    count = max(2, int(gib * 1024**3 // FILE_BYTES))
    record = (
        b"@r1 A00123:8:H7:1:1101:1000:1000 1:N:0:1\nACGTTGCAACGTAGCTAGCTAGGATCCGATCGATCGTAGC\n"
        b"+\nFFFFF:FFFFFFFFFFF,FFFFFFFFFFFFFFFFF:FFFF\n"
    )
    text = record * (FILE_BYTES // len(record) + 1)
    for index in range(count):
        if index % 2:
            (files / f"reads_{index:03d}.fastq").write_bytes(text[:FILE_BYTES])
        else:
            (files / f"reads_{index:03d}.fastq.gz").write_bytes(os.urandom(FILE_BYTES))
    return count * FILE_BYTES


def ours(data: Path, files: Path, out: str) -> dict:
    code = CHILD.format(root=str(ROOT), data=str(data), files=str(files), out=out)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def baseline(files: Path) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        subprocess.run(["zip", "-r", "-1", "-q", "-", files.name], cwd=files.parent, stdout=sink, check=True)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"seconds": elapsed, "peak_rss_mib": max(peak, before) / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=2.0)
    parser.add_argument("--keep", action="store_true", help="keep the generated folder")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="biofm-zip-bench-", dir=os.environ.get("BIOFM_BENCH_DIR")))
    try:
        files = work / "files"
        size = make_folder(files, args.gib)
        print(f"folder: {len(os.listdir(files))} files, {size / 1024**3:.2f} GiB (half .fastq.gz random, half FASTQ)")
        zip_tool = baseline(files)
        streamed = ours(work, files, os.devnull)
        mb = size / 1e6
        print(f"{'':24}{'seconds':>10}{'MB/s':>10}{'peak RSS MiB':>15}")
        print(
            f"{'stream_archive (ours)':24}{streamed['seconds']:>10.1f}{mb / streamed['seconds']:>10.1f}"
            f"{streamed['peak_rss_mib']:>15.1f}"
        )
        print(
            f"{'zip -r -1 (baseline)':24}{zip_tool['seconds']:>10.1f}{mb / zip_tool['seconds']:>10.1f}"
            f"{zip_tool['peak_rss_mib']:>15.1f}"
        )
        archive = work / "check.zip"
        ours(work, files, str(archive))
        ok = subprocess.run(["unzip", "-tq", str(archive)], capture_output=True).returncode == 0
        print(f"archive {archive.stat().st_size / 1e6:.0f} MB, unzip -t: {'ok' if ok else 'FAILED'}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
