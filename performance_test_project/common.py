"""Shared pieces of the benchmarks: free ports, the app server (gunicorn + Celery worker on a
throw-away database and data directory), nginx with its own config, and a small tus / Range
client over ``http.client`` that survives dropped connections.

Everything listens on 127.0.0.1 only; every loop here is bounded by a count or a deadline.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
MIB = 1024 * 1024
BLOCK = MIB
HOST = "127.0.0.1"

# Errors that mean "the connection broke": the caller retries from the server's offset.
NETWORK_ERRORS = (OSError, http.client.HTTPException, TimeoutError)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex((HOST, port)) == 0:
                return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process {proc.args[0]} exited with {proc.returncode} before listening on {port}")
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def stop(proc: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    """Stop a process started with ``start_new_session=True`` and everything in its group."""
    if proc is None:
        return
    try:
        os.killpg(proc.pid, sig)
        proc.wait(timeout=timeout)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=timeout)
    # A SIGKILLed gunicorn master leaves its workers behind; wait until the group is empty.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, signal.SIGKILL if sig == signal.SIGKILL else 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def apt_install(*packages: str) -> None:
    """Install Debian packages (as root); exits with a hint otherwise."""
    if os.geteuid() != 0:
        sys.exit(f"missing: apt-get install -y {' '.join(packages)} (as root), then run again.")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(["apt-get", "install", "-y", "-qq", *packages], env=env).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", *packages], env=env, check=True)


def find_binary(name: str, package: str, sbin: bool = False) -> str:
    candidates = [shutil.which(name), f"/usr/sbin/{name}" if sbin else None]
    for path in candidates:
        if path and os.path.exists(path):
            return path
    apt_install(package)
    return shutil.which(name) or f"/usr/sbin/{name}"


def ensure_nginx() -> str:
    return find_binary("nginx", "nginx-light", sbin=True)


def make_source(path: Path, size: int) -> str:
    """A file of random bytes; returns its SHA-256."""
    digest = hashlib.sha256()
    with open(path, "wb") as handle:
        left = size
        while left:
            block = os.urandom(min(64 * MIB, left))
            handle.write(block)
            digest.update(block)
            left -= len(block)
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(8 * MIB):
            digest.update(chunk)
    return digest.hexdigest()


def source_tree(ref: str, workdir: Path) -> Path:
    """The source tree of git ``ref`` (exported into ``workdir`` once), or this one for ``.``:
    for a side-by-side run of another commit's code."""
    if ref == ".":
        return ROOT
    target = workdir / f"src-{ref.replace('/', '_')}"
    if not target.exists():
        target.mkdir()
        archive = subprocess.run(["git", "archive", ref], cwd=ROOT, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


# --- nginx -------------------------------------------------------------------------------------


def start_nginx(workdir: Path, port: int) -> subprocess.Popen:
    """nginx serving ``workdir/nginx-root`` with GET (sendfile, Range) and WebDAV PUT under /put/."""
    root = workdir / "nginx-root"
    (root / "put").mkdir(parents=True, exist_ok=True)
    (workdir / "nginx-tmp").mkdir(exist_ok=True)
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
        listen {HOST}:{port};
        root {root};
        location /put/ {{ dav_methods PUT; create_full_put_path on; dav_access user:rw; }}
    }}
}}
""")
    proc = subprocess.Popen([ensure_nginx(), "-c", str(conf), "-p", str(workdir)], start_new_session=True)
    wait_for_port(port, proc=proc)
    return proc


# --- the app -----------------------------------------------------------------------------------


@dataclass
class AppServer:
    """gunicorn (gthread, as start_services.sh runs it) and optionally a Celery worker, on a
    fresh database (SQLite in ``workdir``, or ``database_url``) and data directory."""

    workdir: Path
    database_url: str = ""
    workers: int = 2
    threads: int = 8
    extra_env: dict[str, str] = field(default_factory=dict)
    root: Path = ROOT  # the source tree to run (another commit's, for a side-by-side run)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    worker: subprocess.Popen | None = None
    search_writer: subprocess.Popen | None = None

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "BIOFM_DATA_DIR": str(self.workdir / "data"),
            "DATABASE_URL": self.database_url or f"sqlite:///{self.workdir}/db.sqlite3",
            "SECRET_KEY": "perf-suite-" + uuid.uuid4().hex,
            "BIOFM_LOG_DIR": str(self.workdir / "logs"),
            "BIOFM_CELERY_QUEUE": "perf-" + uuid.uuid4().hex[:8],
            "BIOFM_PORT": str(self.port),
            "BIOFM_LOG_LEVEL": "WARNING",
            # Every simulated client signs in as one benchmark user, so per-user rate limits
            # (uploads per hour, sign-ins per address) would measure the limiter, not the server.
            "BIOFM_THROTTLE_AUTH": "off",
            "BIOFM_THROTTLE_UPLOAD": "off",
            "BIOFM_THROTTLE_HEAVY": "off",
            **self.extra_env,
        }
        # The embedded broker in the work directory: nothing shared with a running install.
        self.env.pop("REDIS_URL", None)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def manage(self, *args: str, capture: bool = False) -> str:
        out = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=self.root,
            env=self.env,
            check=True,
            capture_output=capture,
            text=True,
        )
        return out.stdout if capture else ""

    def shell(self, code: str) -> str:
        return self.manage("shell", "-c", code, capture=True)

    def migrate(self) -> None:
        self.manage("migrate", "-v0")

    def start(self, timeout: float = 60) -> None:
        log = (self.workdir / "gunicorn.log").open("a")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "file_project.wsgi:application", "--bind", f"{HOST}:{self.port}",
             "--worker-class", "gthread", "--workers", str(self.workers), "--threads", str(self.threads),
             "--timeout", "300", "--keep-alive", "5",
             *(["--config", "gunicorn.conf.py"] if (self.root / "gunicorn.conf.py").exists() else [])],
            cwd=self.root, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if request(self.port, "GET", "/healthz", timeout=2).read_status() == 200:
                    return
            except NETWORK_ERRORS:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        tail = (self.workdir / "gunicorn.log").read_text()[-3000:]
        raise RuntimeError(f"gunicorn did not become healthy:\n{tail}")

    def start_worker(self) -> None:
        """The background processes ``start_services.sh`` runs beside gunicorn: a Celery worker
        and the node's search-index writer. Without the writer every search would wait
        ``BIOFM_SEARCH_FRESHNESS_WAIT`` for an index that never catches up, then ask SQL."""
        log = (self.workdir / "worker.log").open("a")
        self.worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "file_project", "worker", "-P", "solo", "-Q",
             self.env["BIOFM_CELERY_QUEUE"], "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-l", "warning"],
            cwd=self.root, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        log.close()
        self.start_search_writer()

    def start_search_writer(self) -> None:
        if self.search_writer is not None:
            return
        log = (self.workdir / "search-writer.log").open("a")
        self.search_writer = subprocess.Popen(
            [sys.executable, "manage.py", "search_index_writer"],
            cwd=self.root, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        log.close()

    def kill(self) -> None:
        """SIGKILL gunicorn (master and workers), as a power cut or the OOM killer would."""
        stop(self.proc, signal.SIGKILL)
        self.proc = None

    def stop(self) -> None:
        stop(self.proc)
        stop(self.worker)
        stop(self.search_writer)
        self.proc = self.worker = self.search_writer = None

    def create_user(self, username: str, project_name: str) -> tuple[str, int]:
        """A user owning one project; returns (API token, project id)."""
        code = (
            "from django.contrib.auth import get_user_model; from file_upload.models import Project; "
            "from authentication.services import issue_token; "
            f"u=get_user_model().objects.create_user({username!r}, password='perf-pass-123'); "
            f"p=Project.objects.create(name={project_name!r}, owner=u); print(issue_token(u), p.id)"
        )
        token, project = self.shell(code).split()[-2:]
        return token, int(project)

    def stored_sha256(self, file_id: int) -> str:
        return self.shell(f"from file_upload.models import File; print(File.objects.get(id={file_id}).sha256)").split()[
            -1
        ]

    def discard_file(self, file_id: int) -> None:
        """Soft-delete a benchmark file and free its bytes now (the trash would keep them)."""
        self.shell(
            "from django.utils import timezone; from file_upload.models import File; from file_upload import storage; "
            f"f=File.objects.get(id={file_id}); storage.delete_blob(f.storage_key); "
            f"File.objects.filter(id={file_id}).update(deleted_at=timezone.now())"
        )

    def peak_rss_mib(self) -> float:
        return peak_rss_mib(self.proc.pid) if self.proc else 0.0

    def worker_peak_rss_mib(self) -> float:
        """Peak RSS of the Celery worker (solo pool: one process)."""
        return process_peak_rss_mib(self.worker.pid) if self.worker else 0.0


def process_peak_rss_mib(pid: int) -> float:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    return int(fields.get("VmHWM", "0 kB").split()[0]) / 1024


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


# --- HTTP client -------------------------------------------------------------------------------


class Response:
    """An ``http.client`` response that closes its connection when read."""

    def __init__(self, conn: http.client.HTTPConnection, response: http.client.HTTPResponse) -> None:
        self.conn, self.raw = conn, response
        self.status = response.status

    def header(self, name: str) -> str | None:
        return self.raw.getheader(name)

    def read(self, size: int = -1) -> bytes:
        return self.raw.read() if size < 0 else self.raw.read(size)

    def read_status(self) -> int:
        self.raw.read()
        self.close()
        return self.status

    def json(self) -> dict:
        data = self.raw.read()
        self.close()
        return json.loads(data)

    def close(self) -> None:
        self.conn.close()


def request(
    port: int, method: str, path: str, body=None, headers: dict | None = None, timeout: float = 600
) -> Response:
    """One request on a fresh connection (a broken connection never poisons the next one)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout, blocksize=BLOCK)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        return Response(conn, conn.getresponse())
    except BaseException:
        conn.close()
        raise


class Window:
    """A file slice that http.client streams in 1 MiB blocks."""

    def __init__(self, handle, length: int) -> None:
        self.handle, self.left = handle, length

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(min(self.left, BLOCK if size < 0 else size))
        self.left -= len(data)
        return data


def tus_metadata(values: dict[str, str]) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


@dataclass
class TransferStats:
    seconds: float = 0.0
    retries: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def failed(self, exc: BaseException | str) -> None:
        kind = exc if isinstance(exc, str) else type(exc).__name__
        self.errors[kind] = self.errors.get(kind, 0) + 1
        self.retries += 1


class TusUpload:
    """A tus 1.0 client: creation, PATCH chunks, and resume from the server's offset (HEAD)
    after any broken request, with bounded retries."""

    def __init__(
        self,
        port: int,
        token: str,
        project: int,
        source: Path,
        *,
        chunk: int = 64 * MIB,
        filename: str | None = None,
        url: str | None = None,
        timeout: float = 600,
        metadata: dict[str, str] | None = None,
    ) -> None:
        self.port, self.token, self.project, self.source = port, token, project, source
        self.chunk, self.timeout = chunk, timeout
        self.size = source.stat().st_size
        self.filename = filename or source.name
        self.path = url  # /api/uploads/<id>/
        self.offset = 0
        self.metadata = metadata or {}
        self.stats = TransferStats()

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token}", "Tus-Resumable": "1.0.0"}

    def create(self) -> str:
        meta = tus_metadata({"filename": self.filename, "project": str(self.project), **self.metadata})
        response = request(
            self.port,
            "POST",
            "/api/uploads/",
            headers={**self.auth, "Upload-Length": str(self.size), "Upload-Metadata": meta},
            timeout=self.timeout,
        )
        body = response.read()
        response.close()
        if response.status != 201:
            raise UploadRefused(response.status, body)
        self.path = urlsplit(response.header("Location")).path
        return self.path

    def head(self) -> int:
        response = request(self.port, "HEAD", self.path, headers=self.auth, timeout=self.timeout)
        response.read_status()
        if response.status != 200:
            raise UploadRefused(response.status, b"")
        self.offset = int(response.header("Upload-Offset"))
        return self.offset

    def patch(self, length: int | None = None) -> int:
        length = min(self.chunk if length is None else length, self.size - self.offset)
        headers = {
            **self.auth,
            "Upload-Offset": str(self.offset),
            "Content-Type": "application/offset+octet-stream",
            "Content-Length": str(length),
        }
        with open(self.source, "rb") as handle:
            handle.seek(self.offset)
            response = request(
                self.port, "PATCH", self.path, body=Window(handle, length), headers=headers, timeout=self.timeout
            )
            body = response.read()
            response.close()
        if response.status != 204:
            raise UploadRefused(response.status, body)
        self.offset = int(response.header("Upload-Offset"))
        return self.offset

    def run(
        self,
        *,
        max_retries: int = 0,
        deadline: float | None = None,
        on_progress: Callable[[int], None] | None = None,
        backoff: float = 0.05,
    ) -> TransferStats:
        """Upload to the end; after a failure, HEAD for the offset and go on from there."""
        started = time.perf_counter()
        need_head = self.path is not None
        failures_in_a_row = 0
        while True:
            try:
                if self.path is None:
                    self.create()
                elif need_head:
                    self.head()
                need_head = False
                while self.offset < self.size:
                    self.patch()
                    failures_in_a_row = 0
                    if on_progress:
                        on_progress(self.offset)
                break
            except (UploadRefused, *NETWORK_ERRORS) as exc:
                if isinstance(exc, UploadRefused) and exc.status not in (409, 423, 500, 502, 503, 504):
                    raise
                if self.stats.retries >= max_retries or (deadline and time.monotonic() > deadline):
                    raise
                self.stats.failed(exc if not isinstance(exc, UploadRefused) else f"HTTP {exc.status}")
                need_head = True
                # Exponential backoff per run of failures, capped at 1 s (tus-js-client style).
                time.sleep(min(1.0, backoff * 2 ** min(failures_in_a_row, 10)))
                failures_in_a_row += 1
        self.stats.seconds = time.perf_counter() - started
        return self.stats

    def status(self) -> dict:
        return request(self.port, "GET", self.path + "status/", headers=self.auth, timeout=self.timeout).json()

    def wait_ready(self, timeout: float = 600, poll: float = 0.02) -> dict:
        """After the last PATCH the server hashes and stores the file in the background
        (``verifying``); poll the status until it is ``completed`` and return it."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.status()
            if status["state"] == "completed":
                return status
            if status["state"] != "verifying" or time.monotonic() > deadline:
                raise RuntimeError(f"upload {self.path} ended {status['state']}: {status.get('error', '')}")
            time.sleep(poll)

    def file_id(self) -> int:
        return int(self.wait_ready()["file"])


class UploadRefused(Exception):
    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(f"HTTP {status}: {body[:300]!r}")
        self.status, self.body = status, body


def download(
    port: int,
    path: str,
    *,
    headers: dict | None = None,
    dest: Path | None = None,
    max_retries: int = 0,
    deadline: float | None = None,
    timeout: float = 600,
    stop_after: int | None = None,
) -> tuple[TransferStats, str, int]:
    """GET ``path``; after a broken transfer, go on with ``Range: bytes=<got>-`` and If-Range.
    Returns (stats, SHA-256 of the bytes received, bytes received). ``stop_after`` cuts the
    transfer on purpose after that many bytes (then the SHA-256 covers the part received)."""
    stats = TransferStats()
    digest = hashlib.sha256()
    got = 0
    etag = None
    out = open(dest, "wb") if dest else None
    started = time.perf_counter()
    try:
        while True:
            extra = {}
            if got:
                extra["Range"] = f"bytes={got}-"
                if etag:
                    extra["If-Range"] = etag
            try:
                response = request(port, "GET", path, headers={**(headers or {}), **extra}, timeout=timeout)
                try:
                    if response.status not in (200, 206) or (got and response.status != 206):
                        raise UploadRefused(response.status, response.read()[:300])
                    etag = etag or response.header("ETag")
                    while data := response.read(4 * MIB):
                        digest.update(data)
                        if out:
                            out.write(data)
                        got += len(data)
                        if stop_after is not None and got >= stop_after:
                            stats.seconds = time.perf_counter() - started
                            return stats, digest.hexdigest(), got
                    length = response.header("Content-Range")
                    total = int(length.rsplit("/", 1)[1]) if length else int(response.header("Content-Length") or got)
                    if got < total:
                        raise http.client.IncompleteRead(b"", total - got)
                finally:
                    response.close()
                break
            except NETWORK_ERRORS as exc:
                if stats.retries >= max_retries or (deadline and time.monotonic() > deadline):
                    raise
                stats.failed(exc)
                time.sleep(0.05)
    finally:
        if out:
            out.close()
    stats.seconds = time.perf_counter() - started
    return stats, digest.hexdigest(), got


def upload_put(port: int, path: str, source: Path, timeout: float = 600) -> float:
    """One HTTP PUT of the whole file (nginx WebDAV)."""
    started = time.perf_counter()
    with open(source, "rb") as handle:
        size = source.stat().st_size
        response = request(
            port, "PUT", path, body=Window(handle, size), headers={"Content-Length": str(size)}, timeout=timeout
        )
        status = response.read_status()
    if status not in (201, 204):
        raise RuntimeError(f"PUT {path}: HTTP {status}")
    return time.perf_counter() - started
