"""Real processes for tests: gunicorn serving the app and Celery workers on the test database and
file store, and the ``DATABASE_URL`` a child process needs to share that database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_database_url() -> str:
    """A DATABASE_URL for the database pytest-django created, for child processes."""
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


test_database_url.__test__ = False  # type: ignore[attr-defined]


def storage_env() -> dict[str, str]:
    """The file store of this test (``storage_backend``) for a child process: the same bucket
    when it is an object store; nothing to add for the local disk (BIOFM_DATA_DIR says it)."""
    from django.conf import settings

    if getattr(settings, "BIOFM_STORAGE", "local") != "s3":
        return {}
    names = ("ENDPOINT", "BUCKET", "ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "REGION", "PART_BYTES")
    return {"BIOFM_STORAGE": "s3", **{f"BIOFM_S3_{name}": str(getattr(settings, f"BIOFM_S3_{name}")) for name in names}}


class GunicornServer:
    """gunicorn (gthread) on a free port; ``restart()`` stops and starts it on the same port."""

    def __init__(self, data_dir: Path, log_path: Path, extra_env: dict[str, str] | None = None) -> None:
        from django.conf import settings

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.env = {
            **os.environ,
            "DATABASE_URL": test_database_url(),
            "BIOFM_DATA_DIR": str(data_dir),
            "BIOFM_LOG_DIR": str(data_dir / "logs"),
            "SECRET_KEY": settings.SECRET_KEY,
            "BIOFM_FIELD_KEY": ",".join(settings.BIOFM_FIELD_KEYS),
            "BIOFM_AUDIT_KEY": settings.BIOFM_AUDIT_KEY,  # one sealed audit chain across the processes
            "BIOFM_PORT": str(self.port),
            # Browser tests sign in many times a minute from one address.
            "BIOFM_THROTTLE_AUTH": "off",
            # A queue of its own, for a worker started on this server's env (``CeleryWorker``).
            "BIOFM_CELERY_QUEUE": f"biofm-web-{uuid.uuid4().hex[:8]}",
            **storage_env(),
            **(extra_env or {}),
        }
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        log = self.log_path.open("a")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "file_project.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
             "--worker-class", "gthread", "--workers", "1", "--threads", "4", "--timeout", "120"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:  # refused, or slow to answer on a busy machine
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("gunicorn did not start:\n" + self.log_path.read_text())
            time.sleep(0.2)

    def stop(self, kill: bool = False) -> None:
        if self.proc is None:
            return
        # The whole process group: a SIGKILLed master would leave its worker serving the port.
        os.killpg(self.proc.pid, signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


class CeleryWorker:
    """A real Celery worker (solo pool) on a queue of its own, logging to ``log_path``, in a
    session of its own; use as a context manager, or ``start()``/``stop()``. ``env`` is the
    child's whole environment (``worker_env`` builds one on the test database and file store;
    a ``GunicornServer``'s ``env`` shares that server's settings)."""

    def __init__(self, env: dict[str, str], log_path: Path, queue: str | None = None) -> None:
        self.queue = queue or env.get("BIOFM_CELERY_QUEUE") or f"biofm-test-{uuid.uuid4().hex[:8]}"
        self.env = {**env, "BIOFM_CELERY_QUEUE": self.queue}
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> CeleryWorker:
        with self.log_path.open("a") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "file_project", "worker", "-P", "solo", "-Q", self.queue,
                 "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        return self

    def log(self) -> str:
        return self.log_path.read_text()

    def assert_alive(self) -> None:
        assert self.proc is not None and self.proc.poll() is None, self.log()

    def wait_for(self, row: Any, done: Callable[[Any], bool], timeout: float = 90) -> Any:
        """Reads ``row`` again until ``done(row)`` or ``timeout`` seconds have passed, failing at
        once if the worker dies; the row as last read (the caller asserts its state)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            row.refresh_from_db()
            if done(row):
                break
            self.assert_alive()
            time.sleep(0.3)
        return row

    def wait_for_log(self, text: str, timeout: float = 30) -> str:
        """The worker's log once it holds ``text`` (or after ``timeout`` seconds; the caller
        asserts). The worker logs a task's outcome just after the task has written its rows,
        so a test that has seen the rows waits here for the line."""
        deadline = time.monotonic() + timeout
        while text not in self.log() and time.monotonic() < deadline:
            self.assert_alive()
            time.sleep(0.1)
        return self.log()

    def stop(self, kill: bool = False) -> None:
        if self.proc is None:
            return
        if kill:
            self.proc.kill()
        else:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def __enter__(self) -> CeleryWorker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_for_upload(upload_id: str, timeout: float = 90) -> Any:
    """The ``Upload`` row once its finalisation (a worker's task) has ended: ``completed`` or
    ``failed``; fails the test after ``timeout`` seconds."""
    from file_upload.models import Upload

    deadline = time.monotonic() + timeout
    while True:
        upload = Upload.objects.get(id=upload_id)
        if upload.state not in ("active", "verifying"):
            return upload
        if time.monotonic() > deadline:
            pytest.fail(f"upload {upload_id} still {upload.state} after {timeout} s")
        time.sleep(0.1)


def worker_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a worker sharing the test database, file store and broker folder."""
    from django.conf import settings

    return {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "BIOFM_DATA_DIR": str(data_dir),
        "BIOFM_BROKER_DIR": str(settings.BROKER_DIR),
        "SECRET_KEY": "worker-test",
        "BIOFM_AUDIT_KEY": settings.BIOFM_AUDIT_KEY,
        **storage_env(),
        **extra,
    }
