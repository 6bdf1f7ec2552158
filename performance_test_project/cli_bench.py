"""Command line and WebDAV benchmark: ``biofm upload``/``download`` and ``rclone copy`` through
WebDAV against curl speaking tus and the download API, on one file, in one run.

    .venv/bin/python performance_test_project/cli_bench.py [--size-mib 1024] [--rounds 1]

Starts gunicorn (2 gthread workers × 8 threads, as start_services.sh) and a Celery worker on a
fresh SQLite database in a throw-away directory under var/, then moves one random file of
``--size-mib`` up and down with each tool, ``os.sync()`` before each transfer:

- **curl/tus** (the baseline): ``curl -X POST`` creates the upload, one ``curl -T`` PATCH sends
  every byte; timed until ``/api/uploads/<id>/status/`` says ``completed`` (the server has
  hashed and stored the file). Download: ``curl`` of ``/api/files/<id>/download/``.
- **biofm**: ``biofm upload`` (hashes the file locally, sends it through tus in 64 MiB PATCHes,
  waits for the server's SHA-256 and compares it) and ``biofm download --file`` (streams to a
  part file, checks the SHA-256, renames); a fresh state directory each time, so the local hash
  is computed in the run.
- **rclone/WebDAV**: ``rclone copy`` to and from ``/dav/<project>/`` (PUT is hashed and stored
  inline; GET goes to the download service), with an app password.

Prints MB/s per tool and direction and the ratio to curl, checks every copy's SHA-256, and
writes ``results/cli-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from performance_test_project.common import MIB, ROOT, AppServer, apt_install, make_source, sha256_file

CLIENT_SRC = ROOT / "clients" / "python" / "src"


def run(cmd: list[str], env: dict[str, str] | None = None) -> float:
    os.sync()
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{cmd[:3]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return elapsed


def curl_tus_upload(app: AppServer, token: str, project: int, source: Path, name: str) -> tuple[float, dict]:
    import base64

    meta = ",".join(
        f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in {"filename": name, "project": str(project)}.items()
    )
    auth = f"Authorization: Token {token}"
    os.sync()
    started = time.perf_counter()
    created = subprocess.run(
        ["curl", "-s", "-i", "-X", "POST", "-H", auth, "-H", "Tus-Resumable: 1.0.0",
         "-H", f"Upload-Length: {source.stat().st_size}", "-H", f"Upload-Metadata: {meta}", f"{app.url}/api/uploads/"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    location = next(
        line.split(":", 1)[1].strip() for line in created.stdout.splitlines() if line.lower().startswith("location:")
    )
    url = location if location.startswith("http") else app.url + location
    # -T streams the file; --request-target keeps curl from appending the file's name to the URL.
    target = url.split("://", 1)[1].split("/", 1)[1]
    subprocess.run(
        ["curl", "-s", "-f", "-X", "PATCH", "-H", auth, "-H", "Tus-Resumable: 1.0.0", "-H", "Upload-Offset: 0",
         "-H", "Content-Type: application/offset+octet-stream", "-H", "Expect:", "-T", str(source),
         "--request-target", "/" + target, app.url + "/", "-o", "/dev/null"],
        check=True,
    )  # fmt: skip
    while True:
        request = urllib.request.Request(url.rstrip("/") + "/status/", headers={"Authorization": f"Token {token}"})
        status = json.loads(urllib.request.urlopen(request).read())
        if status["state"] == "completed":
            return time.perf_counter() - started, status
        if status["state"] not in ("active", "verifying"):
            raise RuntimeError(f"curl/tus upload {status['state']}: {status.get('error')}")
        time.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=1, help="transfers per tool and direction; the best counts")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    for tool, package in (("curl", "curl"), ("rclone", "rclone")):
        if shutil.which(tool) is None:
            apt_install(package)
    (ROOT / "var").mkdir(exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="cli-bench-", dir=ROOT / "var"))
    size = args.size_mib * MIB
    app = None
    try:
        source = workdir / "sample.bin"
        print(f"generating {args.size_mib} MiB of random data in {workdir} ...", flush=True)
        expected = make_source(source, size)
        app = AppServer(workdir, extra_env={"BIOFM_THROTTLE_DAV": "off"})
        app.migrate()
        app.start()
        app.start_worker()
        token, project = app.create_user("bench", "bench")
        secret = (
            app.shell(
                "from authentication.models import User; from webdav.services import create_app_password; "
                "print(create_app_password(User.objects.get(username='bench'), 'bench')[1])"
            )
            .strip()
            .splitlines()[-1]
        )
        obscured = subprocess.run(
            ["rclone", "obscure", "-"], input=secret, capture_output=True, text=True, check=True
        ).stdout.strip()
        rclone_remote = ["--webdav-url", f"{app.url}/dav/", "--webdav-user", "bench", "--webdav-pass", obscured,
                         "--config", str(workdir / "rclone.conf"), "--transfers", "1"]  # fmt: skip
        cli_env = {**os.environ, "PYTHONPATH": str(CLIENT_SRC), "BIOFM_URL": app.url, "BIOFM_TOKEN": token}

        best: dict[str, float] = {}

        def keep(key: str, seconds: float) -> None:
            best[key] = min(best.get(key, float("inf")), seconds)

        copies: dict[str, Path] = {}
        file_ids: dict[str, int] = {}
        for round_no in range(args.rounds):
            # Uploads: each tool sends the same bytes under its own name.
            seconds, status = curl_tus_upload(app, token, project, source, f"curl-{round_no}.bin")
            keep("up_curl", seconds)
            file_ids["curl"] = int(status["file"])
            named = workdir / f"biofm-{round_no}.bin"
            os.link(source, named)
            state = workdir / f"state-{round_no}"
            env = {**cli_env, "XDG_STATE_HOME": str(state), "XDG_CONFIG_HOME": str(state)}
            cmd = [sys.executable, "-m", "biofm", "upload", str(named), "--project", str(project), "--quiet"]
            keep("up_biofm", run(cmd, env))
            named = workdir / f"rclone-{round_no}.bin"
            os.link(source, named)
            keep("up_rclone", run(["rclone", "copyto", str(named), f":webdav:bench/{named.name}", *rclone_remote]))
            # Downloads
            out = workdir / f"down-{round_no}"
            out.mkdir()
            copies["curl"] = out / "curl.bin"
            keep("down_curl", run(["curl", "-s", "-f", "-H", f"Authorization: Token {token}", "-o", str(copies["curl"]),
                                   f"{app.url}/api/files/{file_ids['curl']}/download/"]))  # fmt: skip
            cmd = [
                sys.executable,
                "-m",
                "biofm",
                "download",
                str(out / "biofm"),
                "--file",
                str(file_ids["curl"]),
                "--quiet",
            ]
            keep("down_biofm", run(cmd, env))
            copies["biofm"] = out / "biofm" / f"curl-{round_no}.bin"
            copies["rclone"] = out / "rclone.bin"
            keep(
                "down_rclone",
                run(["rclone", "copyto", f":webdav:bench/{named.name}", str(copies["rclone"]), *rclone_remote]),
            )
        for tool, path in copies.items():
            assert sha256_file(path) == expected, f"{tool}: the downloaded copy differs"
        stored = (
            app.shell(
                "from file_upload.models import File; "
                "print(' '.join(sorted({f.sha256 for f in File.objects.filter(deleted_at__isnull=True)})))"
            )
            .strip()
            .splitlines()[-1]
            .split()
        )
        assert stored == [expected], f"stored SHA-256s: {stored}"

        mb = size / 1e6
        rows = {key: mb / seconds for key, seconds in best.items()}
        print(f"\n{args.size_mib} MiB, best of {args.rounds}, same disk, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
              f"load average {os.getloadavg()[0]:.2f}")  # fmt: skip
        print(f"{'MB/s':24}{'curl (tus / API)':>18}{'biofm':>10}{'ratio':>8}{'rclone WebDAV':>15}{'ratio':>8}")
        for direction, label in (("up", "upload, until stored"), ("down", "download")):
            base = rows[f"{direction}_curl"]
            print(
                f"{label:24}{base:18.1f}{rows[f'{direction}_biofm']:10.1f}{rows[f'{direction}_biofm'] / base:8.2f}"
                f"{rows[f'{direction}_rclone']:15.1f}{rows[f'{direction}_rclone'] / base:8.2f}"
            )
        print("SHA-256 verified on every stored file and downloaded copy")
        results = ROOT / "performance_test_project" / "results"
        results.mkdir(exist_ok=True)
        rows["size_mib"] = args.size_mib
        (results / f"cli-{datetime.now(UTC):%Y%m%d-%H%M%S}.json").write_text(json.dumps(rows, indent=2))
    finally:
        if app is not None:
            app.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
