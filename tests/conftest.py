"""Fixtures for tests that need real processes (see ``tests/processes.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.processes import ROOT, GunicornServer


@pytest.fixture
def gunicorn(transactional_db, data_dirs, tmp_path) -> Iterator[GunicornServer]:
    server = GunicornServer(data_dirs, tmp_path / "gunicorn.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def server(gunicorn) -> str:
    """The base URL of a gunicorn serving the built SPA (browser tests)."""
    if not (ROOT / "frontend" / "dist" / "index.html").is_file():
        pytest.fail("The SPA is not built: run `npm --prefix frontend run build` (scripts/test.sh does).")
    return gunicorn.url
