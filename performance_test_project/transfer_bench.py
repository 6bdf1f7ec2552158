"""Transfer benchmark: our tus upload and Range-capable download against nginx on the same disk.

    .venv/bin/python performance_test_project/transfer_bench.py [--size-mib 1024] [--chunk-mib 64]

Starts, in one run and on the same disk (a fresh directory under var/):
- nginx (Debian package; installed with apt-get when missing and run as root) with its own
  config on 127.0.0.1, serving GET and accepting WebDAV PUT;
- gunicorn with the app (gthread, 2 workers × 8 threads, as start_services.sh runs it) on a
  fresh SQLite database.
Then it moves one random file of ``--size-mib`` both ways through each server with the same
HTTP client (http.client, 1 MiB blocks): tus creation + PATCHes of ``--chunk-mib`` against
nginx PUT, and ``/api/files/<id>/download/`` against nginx GET. It prints MB/s, the ratios
(targets: upload ≥ 0.5× nginx PUT, download ≥ 0.8× nginx GET) and the gunicorn workers' peak
RSS during the upload, and checks the stored SHA-256.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MIB = 1024 * 1024
BLOCK = MIB


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_nginx() -> str:
    path = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if path:
        return path
    if os.geteuid() != 0:
        sys.exit("nginx is missing: apt-get install -y nginx-light (as root), then run again.")
    subprocess.run(["apt-get", "install", "-y", "-qq", "nginx-light"], check=True)
    return "/usr/sbin/nginx"


def start_nginx(workdir: Path, port: int) -> subprocess.Popen:
    root = workdir / "nginx-root"
    (root / "put").mkdir(parents=True)
    (workdir / "nginx-tmp").mkdir()
    conf = workdir / "nginx.conf"
    # As root, nginx's workers would drop to nobody and could not write the PUT directory.
    user = "user root;" if os.geteuid() == 0 else ""
    conf.write_text(f"""
{user}
worker_processes 2;
daemon off;
error_log {workdir}/nginx-error.log;
pid {workdir}/nginx.pid;
events {{ worker_connections 256; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path {workdir}/nginx-tmp;
    client_max_body_size 0;
    client_body_buffer_size 1m;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location /put/ {{ dav_methods PUT; create_full_put_path on; dav_access user:rw; }}
    }}
}}
""")
    proc = subprocess.Popen([ensure_nginx(), "-c", str(conf), "-p", str(workdir)], start_new_session=True)
    wait_for_port(port)
    return proc


def start_gunicorn(workdir: Path, port: int, fsync: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "BIOFM_DATA_DIR": str(workdir / "data"),
        "DATABASE_URL": f"sqlite:///{workdir}/db.sqlite3",
        "SECRET_KEY": "transfer-bench",
        "BIOFM_LOG_DIR": str(workdir / "logs"),
        "BIOFM_CELERY_QUEUE": "bench",
        "BIOFM_UPLOAD_FSYNC": fsync,
    }
    env.pop("REDIS_URL", None)
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    log = (workdir / "gunicorn.log").open("w")
    proc = subprocess.Popen(
        [
            python,
            "-m",
            "gunicorn",
            "file_project.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--worker-class",
            "gthread",
            "--workers",
            "2",
            "--threads",
            "8",
            "--timeout",
            "300",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    wait_for_port(port)
    setup = (
        "from django.contrib.auth import get_user_model; from file_upload.models import Project; "
        "from authentication.services import issue_token; "
        "u=get_user_model().objects.create_user('bench', password='bench-pass-123'); "
        "p=Project.objects.create(name='bench', owner=u); print(issue_token(u), p.id)"
    )
    out = subprocess.run(
        [python, "manage.py", "shell", "-c", setup], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout.split()
    proc.token, proc.project = out[-2], out[-1]  # type: ignore[attr-defined]
    return proc


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)


def make_source(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    with open(path, "wb") as handle:
        left = size
        while left:
            block = os.urandom(min(64 * MIB, left))
            handle.write(block)
            digest.update(block)
            left -= len(block)
    return digest.hexdigest()


def request(port: int, method: str, path: str, body=None, headers=None) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600, blocksize=BLOCK)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    response.conn = conn  # type: ignore[attr-defined]
    return response


class Window:
    """A file slice that http.client streams in 1 MiB blocks."""

    def __init__(self, handle, length: int) -> None:
        self.handle, self.left = handle, length

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(min(self.left, BLOCK if size < 0 else size))
        self.left -= len(data)
        return data


def upload_tus(port: int, token: str, project: str, source: Path, chunk: int, round_no: int) -> tuple[float, str]:
    import base64

    size = source.stat().st_size
    auth = {"Authorization": f"Token {token}", "Tus-Resumable": "1.0.0"}
    meta = ",".join(
        f"{k} {base64.b64encode(v.encode()).decode()}"
        for k, v in {"filename": f"{round_no}-{source.name}", "project": project}.items()
    )
    started = time.perf_counter()
    created = request(
        port, "POST", "/api/uploads/", headers={**auth, "Upload-Length": str(size), "Upload-Metadata": meta}
    )
    created.read()
    assert created.status == 201, created.status
    location = created.getheader("Location").split(str(port), 1)[1]
    offset = 0
    with open(source, "rb") as handle:
        while offset < size:
            length = min(chunk, size - offset)
            headers = {
                **auth,
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
                "Content-Length": str(length),
            }
            response = request(port, "PATCH", location, body=Window(handle, length), headers=headers)
            response.read()
            assert response.status == 204, (response.status, response.getheader("Upload-Offset"))
            offset = int(response.getheader("Upload-Offset"))
    elapsed = time.perf_counter() - started
    status = request(port, "GET", location + "status/", headers=auth)
    return elapsed, json.loads(status.read())["file"]


def upload_nginx(port: int, source: Path, round_no: int) -> float:
    started = time.perf_counter()
    with open(source, "rb") as handle:
        response = request(
            port,
            "PUT",
            f"/put/{round_no}-{source.name}",
            body=Window(handle, source.stat().st_size),
            headers={"Content-Length": str(source.stat().st_size)},
        )
        response.read()
    assert response.status in (201, 204), response.status
    return time.perf_counter() - started


def download(port: int, path: str, headers=None) -> tuple[float, str]:
    digest = hashlib.sha256()
    started = time.perf_counter()
    response = request(port, "GET", path, headers=headers)
    assert response.status == 200, response.status
    while data := response.read(4 * MIB):
        digest.update(data)
    return time.perf_counter() - started, digest.hexdigest()


def peak_rss_mib(master_pid: int) -> float:
    """Largest VmHWM among the gunicorn master's worker processes."""
    peak = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        if fields.get("PPid", "").strip() == str(master_pid) and "VmHWM" in fields:
            peak = max(peak, int(fields["VmHWM"].split()[0]))
    return peak / 1024


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
    nginx_port, app_port = free_port(), free_port()
    nginx = app = None
    try:
        source = workdir / "sample.bin"
        print(f"generating {args.size_mib} MiB of random data in {workdir} ...", flush=True)
        expected = make_source(source, size)
        nginx = start_nginx(workdir, nginx_port)
        app = start_gunicorn(workdir, app_port, args.fsync)

        # Each transfer starts with no dirty pages (os.sync), and each runs --rounds times in
        # alternating order; the best time counts, so neither side pays for the other's writeback.
        nginx_put = tus_time = nginx_get = ours_get = float("inf")
        file_id = ""
        for round_no in range(args.rounds):
            for side in ("ours", "nginx") if round_no % 2 == 0 else ("nginx", "ours"):
                os.sync()
                if side == "nginx":
                    nginx_put = min(nginx_put, upload_nginx(nginx_port, source, round_no))
                else:
                    elapsed, file_id = upload_tus(
                        app_port, app.token, app.project, source, args.chunk_mib * MIB, round_no
                    )
                    tus_time = min(tus_time, elapsed)
        rss = peak_rss_mib(app.pid)
        for round_no in range(args.rounds):
            os.sync()
            elapsed, nginx_sha = download(nginx_port, f"/put/{round_no}-{source.name}")
            nginx_get = min(nginx_get, elapsed)
            elapsed, ours_sha = download(
                app_port, f"/api/files/{file_id}/download/", headers={"Authorization": f"Token {app.token}"}
            )
            ours_get = min(ours_get, elapsed)
        stored_sha = subprocess.run(
            [
                sys.executable,
                "manage.py",
                "shell",
                "-c",
                f"from file_upload.models import File; print(File.objects.get(id={file_id}).sha256)",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            env={
                **os.environ,
                "BIOFM_DATA_DIR": str(workdir / "data"),
                "DATABASE_URL": f"sqlite:///{workdir}/db.sqlite3",
                "SECRET_KEY": "transfer-bench",
            },
        ).stdout.split()[-1]
        assert nginx_sha == expected and ours_sha == expected and stored_sha == expected, "integrity check failed"

        mb = size / 1e6
        rows = {
            "upload_tus_mb_s": mb / tus_time,
            "upload_nginx_put_mb_s": mb / nginx_put,
            "download_ours_mb_s": mb / ours_get,
            "download_nginx_get_mb_s": mb / nginx_get,
        }
        rows["upload_ratio"] = rows["upload_tus_mb_s"] / rows["upload_nginx_put_mb_s"]
        rows["download_ratio"] = rows["download_ours_mb_s"] / rows["download_nginx_get_mb_s"]
        rows["worker_peak_rss_mib"] = rss
        rows["fsync"] = args.fsync
        print(
            f"\n{args.size_mib} MiB, tus chunks of {args.chunk_mib} MiB, BIOFM_UPLOAD_FSYNC={args.fsync}, "
            f"same disk, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
        )
        print(f"{'':24}{'ours':>12}{'nginx':>12}{'ratio':>8}{'target':>9}")
        print(
            f"{'upload (MB/s)':24}{rows['upload_tus_mb_s']:12.1f}{rows['upload_nginx_put_mb_s']:12.1f}"
            f"{rows['upload_ratio']:8.2f}{'≥ 0.5':>9}"
        )
        print(
            f"{'download (MB/s)':24}{rows['download_ours_mb_s']:12.1f}{rows['download_nginx_get_mb_s']:12.1f}"
            f"{rows['download_ratio']:8.2f}{'≥ 0.8':>9}"
        )
        print(f"gunicorn worker peak RSS during the upload: {rss:.0f} MiB; SHA-256 verified on all copies")
        results = ROOT / "performance_test_project" / "results"
        results.mkdir(exist_ok=True)
        (results / f"transfer-{datetime.now(UTC):%Y%m%d-%H%M%S}.json").write_text(json.dumps(rows, indent=2))
    finally:
        for proc in (app, nginx):
            if proc is not None:
                stop(proc)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
