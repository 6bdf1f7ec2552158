"""Fixtures for tests that need real processes (see ``tests/processes.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.processes import ROOT, CeleryWorker, GunicornServer


@pytest.fixture
def server_env() -> dict[str, str]:
    """Environment the ``gunicorn`` server (and a worker on its env) adds to its own; a module
    overrides it to point them elsewhere."""
    return {}


@pytest.fixture
def gunicorn(transactional_db, data_dirs, tmp_path, server_env) -> Iterator[GunicornServer]:
    server = GunicornServer(data_dirs, tmp_path / "gunicorn.log", server_env)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def upload_worker(gunicorn, tmp_path) -> Iterator[CeleryWorker]:
    """A Celery worker on the ``gunicorn`` server's broker and queue: it finalises the tus
    uploads that server receives (hashes them, stores the File) and runs what else it queues."""
    with CeleryWorker(gunicorn.env, tmp_path / "worker.log") as worker:
        yield worker


@pytest.fixture
def server(gunicorn, upload_worker) -> str:
    """The base URL of a gunicorn serving the built SPA (browser tests)."""
    if not (ROOT / "frontend" / "dist" / "index.html").is_file():
        pytest.fail("The SPA is not built: run `npm --prefix frontend run build` (scripts/test.sh does).")
    return gunicorn.url
