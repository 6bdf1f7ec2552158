"""Uppy in chromium on a page of another origin (a lab's own dashboard on another port of
127.0.0.1) uploads through tus with a token to a server whose ``BIOFM_CORS_ORIGINS`` lists that
origin; the stored File's SHA-256 equals the source's. From an origin not listed, the browser
refuses the upload at the preflight and nothing reaches the server. Uppy is the SPA's copy
(frontend/node_modules), bundled for the page by rolldown: nothing comes from the internet."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from authentication.services import issue_token
from file_upload.models import File, Project, Upload
from file_upload.tests.factories import ProjectFactory
from tests.processes import ROOT, GunicornServer

pytestmark = pytest.mark.e2e
PAGE = Path(__file__).parent / "uppy_page"
NODE_MODULES = ROOT / "frontend" / "node_modules"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
        pass


@pytest.fixture(scope="module")
def page_dir(tmp_path_factory) -> Path:
    """The dashboard page with Uppy bundled into ``uppy.js``."""
    if not (NODE_MODULES / "@uppy" / "tus").is_dir():
        pytest.fail("Uppy is missing: run `npm --prefix frontend ci` (scripts/test.sh does).")
    out = tmp_path_factory.mktemp("uppy_page")
    for name in ("index.html", "page.js", "entry.js"):
        shutil.copy(PAGE / name, out / name)
    config = {
        "input": "entry.js",
        "platform": "browser",
        "resolve": {"modules": [str(NODE_MODULES)]},
        "output": {"format": "iife", "file": "uppy.js"},
    }
    (out / "rolldown.config.mjs").write_text(f"export default {json.dumps(config)}\n")
    done = subprocess.run(
        [str(NODE_MODULES / ".bin" / "rolldown"), "-c", "rolldown.config.mjs", "--configLoader", "native"],
        cwd=out, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0 and (out / "uppy.js").is_file(), done.stderr + done.stdout
    return out


def _serve(directory: Path) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def origins(page_dir) -> Iterator[tuple[str, str]]:
    """Two origins serving the dashboard: the lab's (listed) and another (not listed)."""
    listed, listed_url = _serve(page_dir)
    other, other_url = _serve(page_dir)
    try:
        yield listed_url, other_url
    finally:
        listed.shutdown()
        other.shutdown()


@pytest.fixture
def gunicorn(transactional_db, data_dirs, tmp_path, origins) -> Iterator[GunicornServer]:
    """The API with the lab's dashboard origin in ``BIOFM_CORS_ORIGINS``."""
    server = GunicornServer(data_dirs, tmp_path / "gunicorn.log", extra_env={"BIOFM_CORS_ORIGINS": origins[0]})
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _upload_from(page, origin: str, server, token: str, project: Project, source: Path) -> dict:
    page.goto(f"{origin}/index.html#endpoint={server}/api/uploads/&token={token}&project={project.id}")
    page.get_by_label("Files to send").set_input_files(str(source))
    result = page.get_by_role("status")
    result.filter(has_text="successful").wait_for(timeout=60_000)
    return json.loads(result.inner_text())


def test_uppy_from_a_listed_origin_uploads_and_an_unlisted_one_is_refused(
    new_page, server, origins, make_user, tmp_path
):
    listed, unlisted = origins
    user = make_user("dashboard", password="dash-pass-2024")
    project = ProjectFactory(name="From the dashboard", owner=user)
    token = issue_token(user)
    source = tmp_path / "plate7_R1.fastq.gz"
    source.write_bytes(os.urandom(1024 * 1024 + 777))  # several tus chunks

    page = new_page()
    outcome = _upload_from(page, listed, server, token, project, source)
    assert outcome["failed"] == [] and len(outcome["successful"]) == 1, outcome
    file = File.objects.get()
    assert (file.name, file.size) == (source.name, source.stat().st_size)
    assert file.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
    assert outcome["successful"][0]["url"].startswith(f"{server}/api/uploads/")

    refused = new_page()
    errors: list[str] = []
    refused.on("console", lambda msg: errors.append(msg.text))
    outcome = _upload_from(refused, unlisted, server, token, project, source)
    assert outcome["successful"] == [] and len(outcome["failed"]) == 1, outcome
    assert any("CORS policy" in line for line in errors), errors
    # The browser stopped at the preflight: no upload was created from that page.
    assert Upload.objects.count() == 1 and File.objects.count() == 1
